"""The one back-off policy of the tool: waits that start at FIRST_DELAY and double up to MAX_DELAY.

Used by the HTTP client (retries, with jitter), phone number job polling and submission, messaging bulk
update polling, and port-out report polling. Pure arithmetic: the callers own their clocks and sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random

FIRST_DELAY = 0.5
MAX_DELAY = 8.0


def doubled(wait: float) -> float:
    """The wait after `wait`: twice as long, at most MAX_DELAY."""
    return min(wait * 2, MAX_DELAY)


def delays(first: float = FIRST_DELAY) -> Iterator[float]:
    """`first`, then each wait doubled up to MAX_DELAY, without end (the caller bounds the loop)."""
    wait = first
    while True:
        yield wait
        wait = doubled(wait)


def jittered(attempt: int, first: float, rng: random.Random) -> float:
    """The wait before retry `attempt` (from 0): a random point in the upper half of the back-off, so
    clients that failed together do not retry together."""
    ceiling = min(first * 2 ** min(attempt, 32), MAX_DELAY)
    return ceiling / 2 + rng.uniform(0, ceiling / 2)
