"""What a collection module provides, and the helpers collections share.

A collection is one small module: a `Collection` subclass naming its state collection, its id
kind and resource schema, mapping `(METHOD, spec path template)` to handlers, and knowing how to
build a stored record from create fields or a seed. Handlers receive a `Call` whose query and
body have already been validated against the spec (with query defaults filled in), run under
the state lock, and return `(status, body)` or raise `ApiError`.

Collections with background work (jobs) answer `due()` with what has become due on the sandbox
clock; the dispatcher runs it, in time order, before each handler. `SandboxSettings` carries the
sandbox options collections read (job timing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable, Mapping, Sequence

from ..errors import bad_value, not_found
from ..store import IdKind, Record, State

Reply = tuple[int, Any]


@dataclass
class Call:
    state: State
    params: dict[str, str]
    query: dict[str, Any]
    body: Any
    given: frozenset[str] = frozenset()  # query parameters the client sent (the rest are defaults)

    @property
    def fields(self) -> dict[str, Any]:
        return dict(self.body) if isinstance(self.body, Mapping) else {}


Handler = Callable[[Call], Reply]
# Background work that has become due: (when, as a timestamp; a tie-breaking id; the work).
Due = tuple[str, str, Callable[[], None]]


@dataclass(frozen=True)
class SandboxSettings:
    """Sandbox options the collections read. A background job waits `pending` for half of
    `job_seconds`, then runs until `job_seconds + job_seconds_per_number x numbers` after creation."""

    job_seconds: float = 1.0
    job_seconds_per_number: float = 0.0005
    portout_answer_hours: float = 48.0  # assumed: the guide says 24 or 48; the account's window is not in the API


class Collection:
    name: ClassVar[str]  # key in the state and in seeds
    label: ClassVar[str]  # for messages: "Billing group"
    id_kind: ClassVar[IdKind]
    schema: ClassVar[str]  # spec pointer of the resource schema; seeded records are checked against it
    id_param: ClassVar[str] = "id"
    wrap_single: ClassVar[bool] = True  # `{"data": resource}`; some areas answer with the bare resource
    unique_fields: ClassVar[tuple[str, ...]] = ()  # indexed by the state: `state.lookup(name, field, value)`
    seedable: ClassVar[bool] = True

    def __init__(self, settings: SandboxSettings | None = None) -> None:
        self.settings = settings or SandboxSettings()

    def routes(self) -> dict[tuple[str, str], Handler]:
        raise NotImplementedError

    def create(self, state: State, fields: Mapping[str, Any]) -> Record:
        """Build, check and store a record from create fields or a (possibly complete) seed entry."""
        raise NotImplementedError

    def render(self, state: State, record: Record) -> dict[str, Any]:
        """Stored record -> API shape; override for fields derived at read time."""
        return record

    def uses(self, record: Record) -> Iterable[tuple[str, str]]:
        """The `(collection, id)` pairs this record references, for "resource in use" checks."""
        return ()

    def due(self, state: State) -> list[Due]:
        """Background work whose time has come on the sandbox clock (none by default)."""
        return []

    # -- shared building blocks ------------------------------------------------------------
    def fetch(self, call: Call) -> Record:
        ident = call.params[self.id_param]
        record = call.state.get(self.name, ident)
        if record is None:
            raise not_found(self.label, ident)
        return record

    def reply(self, state: State, record: Record) -> Reply:
        rendered = self.render(state, record)
        return 200, {"data": rendered} if self.wrap_single else rendered

    def retrieve(self, call: Call) -> Reply:
        return self.reply(call.state, self.fetch(call))

    def page(self, state: State, records: list[Record], query: Mapping[str, Any]) -> Reply:
        rows, meta = paginate(records, query)
        return 200, {"data": [self.render(state, r) for r in rows], "meta": meta}

    def server_fields(self, state: State, fields: Mapping[str, Any]) -> Record:
        """id and timestamps, unless a seed supplies them."""
        created = fields["created_at"] if "created_at" in fields else state.now()
        return {
            "id": str(fields.get("id") or state.new_id(self.id_kind)),
            "created_at": created,
            "updated_at": fields.get("updated_at", created),
        }


def paginate(records: Sequence[Any], query: Mapping[str, Any]) -> tuple[Sequence[Any], dict[str, int]]:
    """One page of any sequence (records or ids) and its `meta`; slicing costs O(page size)."""
    page = query.get("page") or {}
    number, size = int(page.get("number", 1)), int(page.get("size", 20))
    # Some areas' specs omit `minimum`; a page before the first or of no rows makes no sense.
    if number < 1:
        raise bad_value("The 'page[number]' parameter must be greater than or equal to 1.",
                        parameter="page[number]")
    if size < 1:
        raise bad_value("The 'page[size]' parameter must be greater than or equal to 1.",
                        parameter="page[size]")
    total = len(records)
    meta = {"page_number": number, "page_size": size, "total_pages": math.ceil(total / size),
            "total_results": total}
    return records[(number - 1) * size: number * size], meta


def sort_records(records: list[Record], sort: str) -> list[Record]:
    """`name` ascending, `-name` descending; ties keep creation order (reversed when descending)."""
    field = sort.lstrip("-")
    indexed = list(enumerate(records))
    indexed.sort(key=lambda pair: (sortable(pair[1].get(field)), pair[0]), reverse=sort.startswith("-"))
    return [record for _, record in indexed]


def sortable(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.casefold())
    return (1, value)


def pick(fields: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {name: fields[name] for name in names if name in fields}


def flag(value: str, parameter: str) -> bool:
    """Filters the spec types as strings but means booleans ('true' / 'false')."""
    if value.lower() not in ("true", "false"):
        raise bad_value(f"The '{parameter}' parameter must be 'true' or 'false'.", parameter=parameter)
    return value.lower() == "true"
