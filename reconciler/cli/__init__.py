"""The command line: the only package that prints, prompts or exits (see app.py for exit codes)."""

from reconciler.cli import addresses, commands, github, portouts, sandbox, serve  # noqa: F401  (each registers its commands on the group)
from reconciler.cli.app import cli


def main() -> None:
    cli.main()


__all__ = ["cli", "main"]
