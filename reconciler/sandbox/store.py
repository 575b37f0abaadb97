"""The sandbox's account state: records per collection, ids, timestamps, usage, persistence.

Owns every stored resource (kept in API shape, in insertion order), the deterministic id
generator, the clock, the "in use" bookkeeping, and the JSON state file. All methods take one
re-entrant lock, so the dispatcher can hold it around a whole handler while tests mutate state
directly from another thread ("someone changed it in the portal"):

    sandbox.state.update("billing_groups", id, {"name": "Renamed in portal"})
    sandbox.state.mark_in_use("addresses", id, by="phone_numbers/+13125550001")

The state file is rewritten atomically (temp file + os.replace) after every mutation.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal

IdKind = Literal["uuid", "numeric"]
Record = dict[str, Any]
UsesFn = Callable[[str, Record], Iterable[tuple[str, str]]]
STATE_FORMAT = "telnyx-sandbox-state"
STATE_VERSION = 1


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
                 clock: Callable[[], datetime] | None = None, uses: UsesFn | None = None) -> None:
        self.lock = threading.RLock()
        self.path = Path(path) if path is not None else None
        self.clock = clock or utc_now
        self._seed = random_seed
        self._uses = uses or (lambda collection, record: ())
        self._records: dict[str, dict[str, Record]] = {name: {} for name in collections}
        self._in_use: dict[str, dict[str, list[str]]] = {}
        self._counter = 0
        self._deferred = 0
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
        return any(ident in records for records in self._records.values())

    # -- records -------------------------------------------------------------------------
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

    def all(self, collection: str) -> list[Record]:
        with self.lock:
            return copy.deepcopy(list(self._collection(collection).values()))

    def insert(self, collection: str, record: Record) -> Record:
        with self.lock:
            records = self._collection(collection)
            ident = str(record["id"])
            if self._id_taken(ident):
                raise StateError(f"id {ident!r} already exists")
            records[ident] = copy.deepcopy(record)
            self._save()
            return copy.deepcopy(record)

    def replace(self, collection: str, ident: str, record: Record) -> Record:
        with self.lock:
            records = self._collection(collection)
            if ident not in records:
                raise StateError(f"no {collection} record {ident!r}")
            records[ident] = copy.deepcopy(record)
            self._save()
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
            self._in_use.get(collection, {}).pop(ident, None)
            self._save()
            return record

    # -- usage ---------------------------------------------------------------------------
    def mark_in_use(self, collection: str, ident: str, by: str) -> None:
        """Declare that something outside the modelled collections uses a record."""
        with self.lock:
            self._collection(collection)
            users = self._in_use.setdefault(collection, {}).setdefault(ident, [])
            if by not in users:
                users.append(by)
            self._save()

    def release(self, collection: str, ident: str, by: str | None = None) -> None:
        with self.lock:
            users = self._in_use.get(collection, {}).get(ident, [])
            users[:] = [] if by is None else [u for u in users if u != by]
            if not users:
                self._in_use.get(collection, {}).pop(ident, None)
            self._save()

    def users_of(self, collection: str, ident: str) -> list[str]:
        """Who uses a record: explicit marks plus every stored record whose collection says it
        references it (e.g. a phone number's emergency address)."""
        with self.lock:
            users = list(self._in_use.get(collection, {}).get(ident, []))
            for name, records in self._records.items():
                for rid, record in records.items():
                    if (collection, ident) in set(self._uses(name, record)):
                        users.append(f"{name}/{rid}")
            return users

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
            finally:
                self._deferred -= 1
            self._save()

    def _save(self) -> None:
        if self.path is None or self._deferred:
            return
        text = json.dumps(self.snapshot(), indent=1, sort_keys=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _load(self) -> bool:
        if self.path is None or not self.path.exists():
            return False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StateError(f"cannot read sandbox state {self.path}: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise StateError(f"{self.path} is not a sandbox state file")
        self._counter = int(data.get("id_counter", 0))
        self.organization_id = str(data.get("organization_id", self.organization_id))
        self.user_id = str(data.get("user_id", self.user_id))
        # Collections this version does not know are kept, so an older sandbox never drops them.
        for name, records in data.get("collections", {}).items():
            self._records[name] = {str(r["id"]): r for r in records}
        self._in_use = {c: {i: list(u) for i, u in ids.items()} for c, ids in data.get("in_use", {}).items()}
        return True
