"""`python -m reconciler`: the same as the `telnyx-reconciler` console script."""

from reconciler.cli import main

main()
