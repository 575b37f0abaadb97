"""Port-out reports: `/portouts/reports` (list, create) and `/portouts/reports/{id}` (get).

`POST` with `report_type: export_portouts_csv` and `params.filters` (the spec's
`ExportPortoutsCSVReport`) answers 201 with the report `pending`. `job_seconds` later on the sandbox
clock (run through `due()`, like a phone-number job) it is `completed` with a `document_id`, and
it keeps, privately, the ids of the port-out orders its filters matched at that moment
(`_portout_ids`). Filters: `created_at__gt` / `__lt`, `customer_reference__in` (a seed-only field of
an order), `end_user_name` (exact), `phone_numbers__overlaps`, `status__in`; all must hold. The list
filters on `report_type` and `status`, newest first.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ..errors import bad_value
from ..store import Record, State, parse_timestamp
from .background import PENDING, Queue, schedule
from .base import Call, Collection, Due, Handler, Reply
from .portout_events import declared_only, newest

PORTOUTS = "portouts"
COMPLETED = "completed"
SHOWN = ("id", "record_type", "report_type", "status", "params", "document_id", "created_at", "updated_at")
EXPORT_FILTERS: dict[str, Callable[[Record, Any], bool]] = {
    "created_at__gt": lambda order, v: parse_timestamp(order["created_at"]) > parse_timestamp(v),
    "created_at__lt": lambda order, v: parse_timestamp(order["created_at"]) < parse_timestamp(v),
    "customer_reference__in": lambda order, v: order.get("_customer_reference") in v,
    "end_user_name": lambda order, v: order.get("end_user_name") == v,
    "phone_numbers__overlaps": lambda order, v: bool(set(order["phone_numbers"]) & set(v)),
    "status__in": lambda order, v: order["status"] in v,
}


def exported(order: Record, filters: Mapping[str, Any]) -> bool:
    """Whether a stored port-out order belongs in a report with these filters."""
    return all(EXPORT_FILTERS[key](order, value) for key, value in filters.items())


class PortoutReports(Collection):
    name = "portout_reports"
    label = "Port-out report"
    id_kind = "uuid"
    schema = "/components/schemas/PortoutReport"
    seedable = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Queue(self.name, lambda report: report["status"] == PENDING)

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("GET", "/portouts/reports"): self.list_all,
            ("POST", "/portouts/reports"): self.post,
            ("GET", "/portouts/reports/{id}"): self.retrieve,
        }

    def render(self, state: State, record: Record) -> dict[str, Any]:
        return {key: record[key] for key in SHOWN if key in record}

    def due(self, state: State) -> list[Due]:
        return self.queue.due(state, lambda ident: self._complete(state, ident))

    def list_all(self, call: Call) -> Reply:
        wanted = call.query.get("filter") or {}
        declared_only(wanted, ("report_type", "status"))
        reports = newest(call.state, self.name, lambda r: all(r[key] == value for key, value in wanted.items()))
        return self.page(call.state, reports, call.query)

    def post(self, call: Call) -> Reply:
        for key in call.fields["params"]["filters"]:
            if key not in EXPORT_FILTERS:  # the spec's filters object does not forbid other members
                raise bad_value(f"'{key}' is not a filter of {call.fields['report_type']}.",
                                pointer=f"/params/filters/{key}")
        times = schedule(call.state, self.settings, 0)
        report: Record = {
            "id": call.state.new_id("uuid"), "record_type": "portout_report",
            "report_type": call.fields["report_type"], "status": PENDING, "params": call.fields["params"],
            "created_at": times["created_at"], "updated_at": times["created_at"], "etc": times["etc"],
        }
        return 201, {"data": self.render(call.state, call.state.insert(self.name, report))}

    def _complete(self, state: State, ident: str) -> None:
        report = state.peek(self.name, ident)
        if report is None or report["status"] != PENDING:
            return
        filters = report["params"].get("filters") or {}
        matched = [i for i in state.ids(PORTOUTS) if (order := state.peek(PORTOUTS, i)) and exported(order, filters)]
        state.replace(self.name, ident, {**report, "status": COMPLETED, "document_id": state.new_id("uuid"),
                                         "updated_at": report["etc"], "_portout_ids": matched})
