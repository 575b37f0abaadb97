"""The sandbox's account state: records per collection, ids, timestamps, usage, persistence.

Owns every stored resource (kept in insertion order; most collections store the API shape, a
few store a compact form their module documents), the deterministic id generator, the clock, the
"in use" bookkeeping, and the state file. All methods take one re-entrant lock, so the dispatcher
can hold it around a whole handler while tests mutate state directly from another thread
("someone changed it in the portal"):

    sandbox.state.update("billing_groups", id, {"name": "Renamed in portal"})
    sandbox.state.mark_in_use("addresses", id, by="phone_numbers/+13125550001")

Stored records are never changed in place: every change stores a new object. That is what lets
`peek`, `peek_many`, `ids` and the renderers read them without copying, which a 100,000 number
account needs (`get` and `all` still return deep copies), and what keeps a list's cached view of a
record valid exactly as long as that object is the one stored (resources/listing.py). Alongside the records the state keeps indexes that are
updated with each change: the insertion order (`ids`), a per-collection version (`version`)
caches can key on, unique fields (`lookup`, e.g. a phone number's E.164 string), and who
references whom (`users_of`, from each collection's declared references).

Persistence is described in `persistence.py`: a snapshot plus an append-only journal of changes,
folded into the snapshot when it grows and on `close()`.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal, Mapping, Sequence

from .persistence import JournalEntry, StateFile

IdKind = Literal["uuid", "numeric"]
Record = dict[str, Any]
UsesFn = Callable[[str, Record], Iterable[tuple[str, str]]]
STATE_FORMAT = "telnyx-sandbox-state"
STATE_VERSION = 1
JOURNAL_THRESHOLD = 5_000


class StateError(Exception):
    """The state file cannot be read, or a state call names something that does not exist."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def timestamp(moment: datetime) -> str:
    """ISO 8601 with milliseconds and `Z`, like `2019-10-15T10:07:15.527Z`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class State:
    def __init__(self, *, collections: Iterable[str], path: str | Path | None = None, random_seed: int = 0,
                 clock: Callable[[], datetime] | None = None, uses: UsesFn | None = None,
                 unique: Mapping[str, Sequence[str]] | None = None,
                 journal_threshold: int = JOURNAL_THRESHOLD) -> None:
        self.lock = threading.RLock()
        self.path = Path(path) if path is not None else None
        self._file = StateFile(self.path, journal_threshold) if self.path is not None else None
        self.clock = clock or utc_now
        self._seed = random_seed
        self._uses = uses or (lambda collection, record: ())
        self._unique_fields = {name: tuple(fields) for name, fields in (unique or {}).items()}
        self._records: dict[str, dict[str, Record]] = {name: {} for name in collections}
        self._in_use: dict[str, dict[str, list[str]]] = {}
        self._counter = 0
        self._deferred = 0
        self._pending: dict[tuple[str, ...], JournalEntry] = {}  # a batch's changes, until it ends
        self._overflow = False  # the batch changed too much to journal: it ends with a snapshot
        self._versions: dict[str, list[int]] = {}
        self._order: dict[str, tuple[int, tuple[str, ...]]] = {}
        self._unique: dict[str, dict[str, dict[Any, str]]] = {}
        self._refs: dict[tuple[str, str], dict[tuple[str, str], None]] = {}  # target -> users, ordered
        self._refs_of: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}  # user -> targets
        self.organization_id = self._derive_uuid("organization")
        self.user_id = self._derive_uuid("user")
        self.restored = self._load()

    # -- time and ids --------------------------------------------------------------------
    def now(self) -> str:
        return timestamp(self.clock())

    def now_datetime(self) -> datetime:
        moment = self.clock()
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    def _derive_uuid(self, label: str) -> str:
        digest = hashlib.sha256(f"{self._seed}:{label}".encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    def new_id(self, kind: IdKind) -> str:
        """Reproducible for a given `random_seed`; the counter is persisted so restarts never reuse one."""
        with self.lock:
            for _ in range(1000):
                self._counter += 1
                digest = hashlib.sha256(f"{self._seed}:id:{self._counter}".encode()).digest()
                if kind == "uuid":
                    candidate = str(uuid.UUID(bytes=digest[:16], version=4))
                else:
                    candidate = str(10**18 + int.from_bytes(digest[:8], "big") % (9 * 10**18))
                if not self._id_taken(candidate):
                    return candidate
        raise StateError("could not find a free id")

    def _id_taken(self, ident: str) -> bool:
        for records in self._records.values():
            if ident in records:
                return True
        return False

    # -- reading -------------------------------------------------------------------------
    def _collection(self, name: str) -> dict[str, Record]:
        if name not in self._records:
            known = ", ".join(sorted(self._records))
            raise StateError(f"unknown collection {name!r}; known: {known}")
        return self._records[name]

    def collections(self) -> list[str]:
        return list(self._records)

    def get(self, collection: str, ident: str) -> Record | None:
        with self.lock:
            record = self._collection(collection).get(ident)
            return copy.deepcopy(record) if record is not None else None

    def peek(self, collection: str, ident: str) -> Record | None:
        """The stored record itself, without a copy: read it, never change it."""
        with self.lock:
            return self._collection(collection).get(ident)

    def peek_many(self, collection: str, ids: Iterable[str]) -> list[Record]:
        """The stored records of `ids` (those that exist), in that order, under one lock: a list page."""
        with self.lock:
            records = self._collection(collection)
            return [record for record in map(records.get, ids) if record is not None]

    def all(self, collection: str) -> list[Record]:
        with self.lock:
            return copy.deepcopy(list(self._collection(collection).values()))

    def ids(self, collection: str) -> tuple[str, ...]:
        """Ids in insertion order; cached until a record is added or removed."""
        with self.lock:
            membership = self.version(collection)[0]
            cached = self._order.get(collection)
            if cached is None or cached[0] != membership:
                cached = (membership, tuple(self._collection(collection)))
                self._order[collection] = cached
            return cached[1]

    def count(self, collection: str) -> int:
        with self.lock:
            return len(self._collection(collection))

    def version(self, collection: str) -> tuple[int, int]:
        """(membership, content): the first moves when a record is added or removed, or its
        `created_at` or a unique field changes; the second on every change."""
        with self.lock:
            counts = self._versions.get(collection, [0, 0])
            return counts[0], counts[1]

    def lookup(self, collection: str, field: str, value: Any) -> str | None:
        """The id of the record whose unique `field` equals `value`."""
        with self.lock:
            return self._unique.get(collection, {}).get(field, {}).get(value)

    # -- writing -------------------------------------------------------------------------
    def insert(self, collection: str, record: Record, *, copy_record: bool = True) -> Record:
        """Store a new record. `copy_record=False` hands the object over (bulk seeding): the
        caller must not touch it again, and gets the same object back."""
        with self.lock:
            self._collection(collection)
            ident = str(record["id"])
            if self._id_taken(ident):
                raise StateError(f"id {ident!r} already exists")
            stored = copy.deepcopy(record) if copy_record else record
            self._store(collection, ident, stored)
            return copy.deepcopy(stored) if copy_record else stored

    def replace(self, collection: str, ident: str, record: Record, *, copy_record: bool = True) -> Record:
        """Store `record` in place of the current one. `copy_record=False` hands the object over, as for
        `insert`: a handler that built it for this change gets the stored object back, and a view cached
        from it stays valid until the next change."""
        with self.lock:
            if ident not in self._collection(collection):
                raise StateError(f"no {collection} record {ident!r}")
            if not copy_record:
                self._store(collection, ident, record)
                return record
            self._store(collection, ident, copy.deepcopy(record))
            return copy.deepcopy(record)

    def update(self, collection: str, ident: str, changes: Record) -> Record:
        """Shallow-merge `changes`; `updated_at` moves to now unless the changes set it (or the
        record has none). To drop a key, use `replace` with the whole record."""
        with self.lock:
            current = self.get(collection, ident)
            if current is None:
                raise StateError(f"no {collection} record {ident!r}")
            merged = {**current, **copy.deepcopy(changes)}
            if "updated_at" in current and "updated_at" not in changes:
                merged["updated_at"] = self.now()
            return self.replace(collection, ident, merged)

    def delete(self, collection: str, ident: str) -> Record:
        with self.lock:
            records = self._collection(collection)
            if ident not in records:
                raise StateError(f"no {collection} record {ident!r}")
            record = records.pop(ident)
            self._index(collection, ident, record, None)
            self._in_use.get(collection, {}).pop(ident, None)
            self._bump(collection, membership=True)
            self._changed(("record", collection, ident), {"del": collection, "id": ident})
            return record

    def _store(self, collection: str, ident: str, record: Record) -> None:
        records = self._records[collection]
        old = records.get(ident)
        self._check_unique(collection, ident, record)
        records[ident] = record
        self._index(collection, ident, old, record)
        moved = old is None or any(old.get(f) != record.get(f)
                                   for f in ("created_at", *self._unique_fields.get(collection, ())))
        self._bump(collection, membership=moved)
        self._changed(("record", collection, ident), {"put": collection, "record": record})

    def _bump(self, collection: str, *, membership: bool) -> None:
        counts = self._versions.setdefault(collection, [0, 0])
        counts[1] += 1
        if membership:
            counts[0] += 1

    # -- indexes -------------------------------------------------------------------------
    def _check_unique(self, collection: str, ident: str, record: Record) -> None:
        for field in self._unique_fields.get(collection, ()):
            owner = self._unique.get(collection, {}).get(field, {}).get(record.get(field))
            if owner is not None and owner != ident:
                raise StateError(f"{collection} {field} {record.get(field)!r} already exists")

    def _index(self, collection: str, ident: str, old: Record | None, new: Record | None) -> None:
        unique = self._unique_fields.get(collection)
        if unique:
            fields = self._unique.setdefault(collection, {})
            for field in unique:
                values = fields.setdefault(field, {})
                if old is not None and values.get(old.get(field)) == ident:
                    del values[old.get(field)]
                if new is not None and new.get(field) is not None:
                    values[new[field]] = ident
        user = (collection, ident)
        for target in self._refs_of.pop(user, ()):
            self._refs.get(target, {}).pop(user, None)
        targets = tuple(dict.fromkeys(self._uses(collection, new))) if new is not None else ()
        if targets:
            self._refs_of[user] = targets
            for target in targets:
                self._refs.setdefault(target, {})[user] = None

    def _rebuild_indexes(self) -> None:
        self._unique, self._refs, self._refs_of = {}, {}, {}
        for name, records in self._records.items():
            for ident, record in records.items():
                self._index(name, ident, None, record)

    # -- usage ---------------------------------------------------------------------------
    def mark_in_use(self, collection: str, ident: str, by: str) -> None:
        """Declare that something outside the modelled collections uses a record."""
        with self.lock:
            self._collection(collection)
            users = self._in_use.setdefault(collection, {}).setdefault(ident, [])
            if by not in users:
                users.append(by)
            self._usage_changed(collection, ident)

    def release(self, collection: str, ident: str, by: str | None = None) -> None:
        with self.lock:
            users = self._in_use.get(collection, {}).get(ident, [])
            users[:] = [] if by is None else [u for u in users if u != by]
            if not users:
                self._in_use.get(collection, {}).pop(ident, None)
            self._usage_changed(collection, ident)

    def _usage_changed(self, collection: str, ident: str) -> None:
        users = list(self._in_use.get(collection, {}).get(ident, []))
        self._changed(("in_use", collection, ident), {"in_use": collection, "id": ident, "users": users})

    def users_of(self, collection: str, ident: str) -> list[str]:
        """Who uses a record: explicit marks plus every stored record whose collection says it
        references it (e.g. a phone number's emergency address)."""
        with self.lock:
            users = list(self._in_use.get(collection, {}).get(ident, []))
            return users + [f"{name}/{rid}" for name, rid in self._refs.get((collection, ident), {})]

    # -- persistence ---------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "format": STATE_FORMAT, "version": STATE_VERSION, "random_seed": self._seed,
                "id_counter": self._counter, "organization_id": self.organization_id,
                "user_id": self.user_id,
                "collections": {name: list(records.values()) for name, records in self._records.items()},
                "in_use": self._in_use,
            }

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Write the state file once at the end instead of after each change; not at all on error."""
        with self.lock:
            self._deferred += 1
            try:
                yield
            except BaseException:
                if self._deferred == 1:
                    self._pending, self._overflow = {}, False
                raise
            finally:
                self._deferred -= 1
            if not self._deferred:
                entries, self._pending = list(self._pending.values()), {}
                if self._overflow:
                    self._overflow = False
                    self._write_snapshot()
                else:
                    self._flush(entries)

    def close(self) -> None:
        """Fold the journal, if any, into the snapshot. The state stays usable."""
        with self.lock:
            if self._file is not None and self._file.journal_entries:
                self._write_snapshot()

    def _changed(self, key: tuple[str, ...], entry: JournalEntry) -> None:
        if self._file is None:
            return
        entry["counter"] = self._counter
        if not self._deferred:
            self._flush([entry])
        elif self._overflow:
            return  # the batch ends with a snapshot anyway
        else:
            self._pending.pop(key, None)  # keep only the last change of each record, in change order
            self._pending[key] = entry
            if len(self._pending) > self._file.journal_threshold:
                self._overflow, self._pending = True, {}

    def _flush(self, entries: list[JournalEntry]) -> None:
        if self._file is None or not entries:
            return
        total = sum(map(len, self._records.values()))
        if self._file.should_compact(total, len(entries)):
            self._write_snapshot()
        else:
            self._file.append(entries)

    def _write_snapshot(self) -> None:
        assert self._file is not None
        total = sum(map(len, self._records.values()))
        self._file.write_snapshot(self.snapshot(), pretty=total <= self._file.journal_threshold)

    def _load(self) -> bool:
        if self._file is None:
            return False
        try:
            loaded = self._file.read()
        except (OSError, ValueError) as exc:
            raise StateError(f"cannot read sandbox state {self.path}: {exc}") from exc
        if loaded is None:
            return False
        data, entries = loaded
        if data.get("format") != STATE_FORMAT:
            raise StateError(f"{self.path} is not a sandbox state file")
        self._counter = int(data.get("id_counter", 0))
        self.organization_id = str(data.get("organization_id", self.organization_id))
        self.user_id = str(data.get("user_id", self.user_id))
        # Collections this version does not know are kept, so an older sandbox never drops them.
        for name, records in data.get("collections", {}).items():
            self._records[name] = {str(r["id"]): r for r in records}
        self._in_use = {c: {i: list(u) for i, u in ids.items()} for c, ids in data.get("in_use", {}).items()}
        for entry in entries:
            self._replay(entry)
        self._rebuild_indexes()
        return True

    def _replay(self, entry: JournalEntry) -> None:
        self._counter = max(self._counter, int(entry.get("counter", 0)))
        if "put" in entry:
            record = entry["record"]
            self._records.setdefault(entry["put"], {})[str(record["id"])] = record
        elif "del" in entry:
            self._records.get(entry["del"], {}).pop(entry["id"], None)
            self._in_use.get(entry["del"], {}).pop(entry["id"], None)
        elif "in_use" in entry:
            users = self._in_use.setdefault(entry["in_use"], {})
            if entry["users"]:
                users[entry["id"]] = list(entry["users"])
            else:
                users.pop(entry["id"], None)
