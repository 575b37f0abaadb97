"""Ordered id lists over a large collection, cached until the collection changes.

A list endpoint over 100,000 numbers must not filter, sort or copy the whole account for every
page. `Views.ids()` computes an ordered id list once per (filter, sort) key and keeps it while the
collection's version stays the same: orders that depend only on which records exist (creation
time, the E.164 string) are keyed on the membership version, so editing a number does not
invalidate them; filtered or setting-dependent orders are keyed on the content version. A page is
then a slice of ids plus one render per row: O(page size).

`Rendered` keeps each row's encoded view, so reading the same page again costs a lookup per row
rather than building and encoding 250 views. It needs no invalidation: the state never changes a
stored record in place (store.py), so a cached view is current exactly when it was made from the
object stored now, whichever path wrote the record.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Generic, Hashable, Iterable, Sequence, TypeVar

from ..encoding import Fragment, Fragments, dumps
from ..store import Record, State

CAPACITY = 16
# Rows whose encoded view is kept, per view: a typical account's numbers many times over, and for an
# account of 100,000 about 10 MB a view (38 MB once all four phone-number lists are read end to end);
# the oldest entries go first.
RENDERED_CAPACITY = 10_000
Context = TypeVar("Context", bound=Hashable)


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


class Rendered(Generic[Context]):
    """One view of a collection's records, encoded once per stored record.

    `render(record, context)` builds the view; `varies(record, context)` is the part of the context the
    view depends on (by default all of it): a phone number's view reads the clock only for its emergency
    status, so that status, not the time, is what a cached row is checked against.
    """

    def __init__(self, render: Callable[[Record, Context], Any],
                 varies: Callable[[Record, Context], Hashable] | None = None,
                 capacity: int = RENDERED_CAPACITY) -> None:
        self.render = render
        self._varies = varies or (lambda record, context: context)
        self._capacity = capacity
        self._cache: OrderedDict[str, tuple[Record, Hashable, Fragment]] = OrderedDict()

    def one(self, record: Record, context: Context) -> Fragment:
        ident, stamp = record["id"], self._varies(record, context)
        hit = self._cache.get(ident)
        if hit is not None and hit[0] is record and hit[1] == stamp:
            return hit[2]
        encoded = Fragment(dumps(self.render(record, context)))
        self._cache[ident] = (record, stamp, encoded)
        if len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        return encoded

    def clear(self) -> None:
        self._cache.clear()

    def many(self, records: Iterable[Record], context: Context) -> Fragments:
        one = self.one
        return Fragments(one(record, context) for record in records)
