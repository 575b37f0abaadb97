"""Port-out events: `/portouts/events` (list), `/portouts/events/{id}` (get) and
`POST /portouts/events/{id}/republish`.

Events are made by the port-out orders (portouts.py) through `record()`: every status change is a
`portout.status_changed`, every comment a `portout.new_comment`, and a FOC date confirmed on
authorization a `portout.foc_date_changed`. An event is shown `payload_status: created` without a
payload until `job_seconds` after it was made, then `completed` with its payload (derived when it
is shown). BEHAVIOUR.md has the payload null until then; the spec declares `payload` as an object
that is not nullable, so the sandbox leaves it out instead.

The list filters on `event_type`, `portout_id` and `created_at[gte|lte]`, newest first. Republishing
re-sends an event's notifications: 204, counted on the event (`_republished`), no new event.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable, Iterable, Mapping

from ..errors import bad_value
from ..store import Record, State, parse_timestamp, timestamp
from .base import Call, Collection, Handler, Reply, SandboxSettings
from .listing import newest_first

EVENTS = "portout_events"
METHODS = ["email", "webhook"]
SHOWN = ("id", "record_type", "event_type", "portout_id", "available_notification_methods", "created_at")


def declared_only(wanted: Mapping[str, Any], names: Iterable[str]) -> None:
    """Refuse filter members the spec does not declare (the validator lets objects carry extras)."""
    for key in wanted:
        if key not in names:
            raise bad_value(f"The 'filter[{key}]' parameter is not supported.", parameter=f"filter[{key}]")


def record(state: State, settings: SandboxSettings, event_type: str, portout_id: str, payload: Mapping[str, Any],
           at: str | None = None) -> Record:
    """Store a new event about a port-out order, made now or `at` a moment that has passed; its
    payload completes `job_seconds` later."""
    created = parse_timestamp(at) if at else state.now_datetime()
    event: Record = {
        "id": state.new_id("uuid"), "record_type": "portout_event", "event_type": event_type,
        "portout_id": portout_id, "available_notification_methods": list(METHODS),
        "created_at": timestamp(created), "_payload": {k: v for k, v in payload.items() if v is not None},
        "_completes_at": timestamp(created + timedelta(seconds=settings.job_seconds)), "_republished": 0,
    }
    if event_type == "portout.status_changed":
        event["_payload"]["rejection_reason"] = payload.get("rejection_reason")  # nullable in the spec
    return state.insert(EVENTS, event)


def newest(state: State, collection: str, keep: Callable[[Record], bool]) -> list[Record]:
    """The records of a port-out collection that `keep` accepts, newest first."""
    ids = newest_first(state, collection, state.ids(collection))
    return [r for r in (state.peek(collection, i) for i in ids) if r and keep(r)]


def within(moment: str, bounds: Mapping[str, Any]) -> bool:
    """A `{gte, lte}` range filter, as the port-out lists take them."""
    when = parse_timestamp(moment)
    if "gte" in bounds and when < parse_timestamp(str(bounds["gte"])):
        return False
    return "lte" not in bounds or when <= parse_timestamp(str(bounds["lte"]))


class PortoutEvents(Collection):
    name = EVENTS
    label = "Port-out event"
    id_kind = "uuid"
    schema = "/components/schemas/WebhookPortoutStatusChanged"
    seedable = False

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("GET", "/portouts/events"): self.list_all,
            ("GET", "/portouts/events/{id}"): self.retrieve,
            ("POST", "/portouts/events/{id}/republish"): self.republish,
        }

    def render(self, state: State, record: Record) -> dict[str, Any]:
        view = {key: record[key] for key in SHOWN}
        if state.now() >= record["_completes_at"]:
            view.update(payload_status="completed", payload=dict(record["_payload"]),
                        updated_at=record["_completes_at"])
        else:
            view.update(payload_status="created", updated_at=record["created_at"])
        return view

    def list_all(self, call: Call) -> Reply:
        wanted = call.query.get("filter") or {}
        declared_only(wanted, ("event_type", "portout_id", "created_at"))
        events = newest(call.state, self.name, lambda event: self._matches(event, wanted))
        return self.page(call.state, events, call.query)

    def _matches(self, event: Record, wanted: Mapping[str, Any]) -> bool:
        if "event_type" in wanted and event["event_type"] != wanted["event_type"]:
            return False
        if "portout_id" in wanted and event["portout_id"] != wanted["portout_id"]:
            return False
        return within(event["created_at"], wanted.get("created_at") or {})

    def republish(self, call: Call) -> Reply:
        event = self.fetch(call)
        call.state.replace(self.name, event["id"], {**event, "_republished": event["_republished"] + 1})
        return 204, None
