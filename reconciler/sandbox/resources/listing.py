"""Ordered id lists over a large collection, cached until the collection changes.

A list endpoint over 100,000 numbers must not filter, sort or copy the whole account for every
page. `Views.ids()` computes an ordered id list once per (filter, sort) key and keeps it while the
collection's version stays the same: orders that depend only on which records exist (creation
time, the E.164 string) are keyed on the membership version, so editing a number does not
invalidate them; filtered or setting-dependent orders are keyed on the content version. A page is
then a slice of ids plus one render per row: O(page size).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Hashable, Sequence

from ..store import State

CAPACITY = 16


class Views:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._cache: OrderedDict[Hashable, tuple[tuple[int, int], Sequence[str]]] = OrderedDict()

    def ids(self, state: State, collection: str, key: Hashable, compute: Callable[[], Sequence[str]], *,
            content: bool) -> Sequence[str]:
        membership, everything = state.version(collection)
        stamp = (membership, everything if content else -1)
        hit = self._cache.get(key)
        if hit is not None and hit[0] == stamp:
            self._cache.move_to_end(key)
            return hit[1]
        ids = compute()
        self._cache[key] = (stamp, ids)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        return ids


def newest_first(state: State, collection: str, ids: Sequence[str]) -> list[str]:
    """By `created_at` descending; ties newest-inserted first (the reverse of a stable ascending sort)."""
    peek = state.peek
    ascending = sorted(ids, key=lambda ident: _created(peek(collection, ident)))
    ascending.reverse()
    return ascending


def _created(record: Any) -> str:
    return str(record.get("created_at", "")) if record else ""
