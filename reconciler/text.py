"""Wording shared by messages: a long list cut to its first items ("a, b and 3 more").

Standard library only, so any layer (the CLI's `--help` included) may import it for free.
"""

from __future__ import annotations

from collections.abc import Sequence


def shortened(items: Sequence[str], limit: int) -> str:
    """The first `limit` items, comma-separated, then " and N more" for the rest, if any."""
    shown = ", ".join(items[:limit])
    return shown + f" and {len(items) - limit} more" if len(items) > limit else shown
