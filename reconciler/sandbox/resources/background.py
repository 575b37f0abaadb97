"""The timing of background jobs on the sandbox clock, shared by phone-number jobs and
messaging bulk updates.

A job created at `created_at` for n numbers is `pending` until `starts_at` = created_at +
job_seconds / 2, `in_progress` until `etc` = created_at + job_seconds + job_seconds_per_number x n,
and then finished: its effects are applied at that moment, all at once. Nothing runs in the
background: before each request the dispatcher asks every collection what is `due` and applies it
in `etc` order, so an injected clock drives jobs exactly. The intermediate `in_progress` status is
derived when a job is shown, so it needs no write.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

from ..store import Record, State, timestamp
from .base import Due, SandboxSettings

PENDING, IN_PROGRESS = "pending", "in_progress"


def schedule(state: State, settings: SandboxSettings, count: int) -> dict[str, str]:
    """created_at, starts_at and etc for a job over `count` numbers created now."""
    created = state.now_datetime()
    starts = created + timedelta(seconds=settings.job_seconds / 2)
    finish = created + timedelta(seconds=settings.job_seconds + settings.job_seconds_per_number * count)
    return {"created_at": timestamp(created), "starts_at": timestamp(starts), "etc": timestamp(finish)}


def phase(state: State, starts_at: str) -> str:
    """`pending` or `in_progress` for a job that has not finished yet."""
    return IN_PROGRESS if state.now() >= starts_at else PENDING


class Queue:
    """The unfinished jobs of one collection, ordered by `etc`; recomputed when the collection changes."""

    def __init__(self, collection: str, unfinished: Callable[[Record], bool]) -> None:
        self._collection = collection
        self._unfinished = unfinished
        self._version: tuple[int, int] | None = None
        self._waiting: list[tuple[str, str]] = []

    def due(self, state: State, run: Callable[[str], Any]) -> list[Due]:
        version = state.version(self._collection)
        if version != self._version:
            records = (state.peek(self._collection, i) for i in state.ids(self._collection))
            self._waiting = sorted((r["etc"], r["id"]) for r in records if r and self._unfinished(r))
            self._version = version
        now = state.now()
        return [(etc, ident, _bind(run, ident)) for etc, ident in self._waiting if etc <= now]


def _bind(run: Callable[[str], Any], ident: str) -> Callable[[], None]:
    return lambda: run(ident)
