"""Port-out orders through the API client: reading orders, their comments, documents, rejection
codes and events, answering them, and exporting them as a report.

Functions take any `api.Api` (the `TelnyxClient`, or a test double) and return the API's
JSON objects; nothing here prints. Filters are given by their API names without the `filter[...]`
wrapping (`{"status": "pending", "inserted_at": {"gte": "2024-05-01T00:00:00Z"}}`); a list value is
sent comma-separated, the way the spec's array filters are read.

A report is created `pending` and completes on its own; `wait_for_report` polls it with a bounded
backoff (`retry.delays`, at most `timeout` seconds in all), with `sleep` and `clock`
injectable so tests need not wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler import retry
from reconciler.errors import ReconcilerError
from reconciler.plan import SENSITIVE

if TYPE_CHECKING:  # importing the kinds would load pydantic for `--help`
    from reconciler.api import Api

PATH = "/portouts"
# Fields that hold a PIN: the one a gaining carrier gave (in status-change events) may be the account's own.
CREDENTIAL_FIELDS = frozenset({"attempted_pin", "external_pin"})
STATUSES = ("pending", "authorized", "ported", "rejected", "rejected-pending", "canceled")
ANSWERS = ("authorized", "rejected-pending")  # the statuses an account may set
EVENT_TYPES = ("portout.status_changed", "portout.new_comment", "portout.foc_date_changed")
REPORT_TYPE = "export_portouts_csv"
PAGE_SIZE, MAX_PAGES, SNAPSHOT_READS = 250, 400, 3
REPORT_TIMEOUT = 120.0
Filters = Mapping[str, Any]


def query(filters: Filters | None) -> dict[str, Any]:
    """The query of a filter: `{"inserted_at": {"gte": t}, "status_in": [a, b]}` ->
    `{"filter[inserted_at][gte]": t, "filter[status_in]": "a,b"}`; None values are left out."""
    flat: dict[str, Any] = {}

    def add(key: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for name, inner in value.items():
                add(f"{key}[{name}]", inner)
        elif isinstance(value, (list, tuple)):
            flat[key] = ",".join(str(v) for v in value)
        elif value is not None:
            flat[key] = value

    for name, value in (filters or {}).items():
        add(f"filter[{name}]", value)
    return flat


# -- reading -------------------------------------------------------------------------------------

def list_portouts(api: Api, filters: Filters | None = None) -> list[dict[str, Any]]:
    """Every port-out order matching the filters (all pages), newest first."""
    return api.list_all(PATH, query(filters))


def pending_portouts(api: Api) -> list[dict[str, Any]]:
    """The orders waiting for the account's answer, each once (read as a snapshot)."""
    return snapshot(api, {"status": "pending"})[0]


def snapshot(api: Api, filters: Filters) -> tuple[list[dict[str, Any]], str | None]:
    """Every order matching the filters, each once, read as one snapshot: the pages are read again (up to
    SNAPSHOT_READS times) while they disagree with each other or with `meta.total_results`, since an order
    answered or opened between two page reads shifts the rest. The second value says, in words, when the
    last read still disagreed (the orders read are returned all the same)."""
    problem = ""
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(SNAPSHOT_READS):
        orders, totals, duplicates = _pages(api, filters)
        for order in orders:
            seen.setdefault(str(order["id"]), order)
        unique = {str(o["id"]): o for o in orders}
        if len(totals) == 1 and not duplicates and len(unique) in totals:
            return list(unique.values()), None
        problem = (f"{len(unique)} distinct order(s) read, the API counted {' then '.join(map(str, sorted(totals))) or '?'}"
                   + (f", {duplicates} listed twice" if duplicates else ""))
    return list(seen.values()), (f"the port-out orders ({query(filters)}) changed while they were read, "
                                 f"{SNAPSHOT_READS} times: {problem}; an order may be missing from this plan, so plan again")


def _pages(api: Api, filters: Filters) -> tuple[list[dict[str, Any]], set[int], int]:
    """One pass over the pages: the orders, the totals the pages reported, how many ids came twice."""
    orders: list[dict[str, Any]] = []
    totals: set[int] = set()
    number, pages = 1, 1
    while number <= pages:
        payload = api.get(PATH, {**query(filters), "page[number]": number, "page[size]": PAGE_SIZE},
                          what=f"listing port-outs (page {number})")
        data, meta = payload.get("data"), payload.get("meta")
        if not isinstance(data, list) or not isinstance(meta, dict) or not all(isinstance(o, dict) and o.get("id") for o in data):
            raise ReconcilerError(f"the list of port-outs (page {number}) is not a list of orders with ids and a `meta`",
                                  "The answer cannot be read, so no order is decided; try again later.")
        total, page_count = meta.get("total_results"), meta.get("total_pages")
        if not isinstance(total, int) or not isinstance(page_count, int) or not 0 <= page_count <= MAX_PAGES:
            raise ReconcilerError(f"the list of port-outs (page {number}) has no usable meta.total_results/total_pages",
                                  f"Expected whole numbers, at most {MAX_PAGES} pages.")
        pages = page_count
        totals.add(total)
        orders.extend(data)
        number += 1
    duplicates = len(orders) - len({str(o["id"]) for o in orders})
    return orders, totals, duplicates


def get_portout(api: Api, portout_id: str) -> dict[str, Any]:
    return dict(api.get(f"{PATH}/{portout_id}", what=f"reading port-out {portout_id}")["data"])


def comments(api: Api, portout_id: str) -> list[dict[str, Any]]:
    return list(api.get(f"{PATH}/{portout_id}/comments", what=f"reading the comments of port-out {portout_id}")["data"])


def supporting_documents(api: Api, portout_id: str) -> list[dict[str, Any]]:
    payload = api.get(f"{PATH}/{portout_id}/supporting_documents",
                      what=f"reading the supporting documents of port-out {portout_id}")
    return list(payload["data"])


def show_portout(api: Api, portout_id: str) -> dict[str, Any]:
    """`{"portout": order, "comments": [...], "supporting_documents": [...]}`."""
    return {"portout": get_portout(api, portout_id), "comments": comments(api, portout_id),
            "supporting_documents": supporting_documents(api, portout_id)}


def rejection_codes(api: Api, portout_id: str, codes: Sequence[int] = ()) -> list[dict[str, Any]]:
    """The rejection codes eligible for an order (each with `reason_required`), optionally only `codes`."""
    params = query({"code": list(codes)}) if codes else None
    payload = api.get(f"{PATH}/rejections/{portout_id}", params, what=f"reading the rejection codes of {portout_id}")
    return list(payload["data"])


def list_events(api: Api, filters: Filters | None = None) -> list[dict[str, Any]]:
    """Port-out events (status changes, comments, FOC dates), newest first; filters: event_type,
    portout_id, created_at {gte, lte}."""
    return api.list_all(f"{PATH}/events", query(filters))


def republish_event(api: Api, event_id: str) -> None:
    """Send an event's notifications again; no new event is made."""
    api.post(f"{PATH}/events/{event_id}/republish", {}, what=f"republishing port-out event {event_id}")


# -- answering -----------------------------------------------------------------------------------

def set_status(api: Api, portout_id: str, status: str, reason: str, *,
               host_messaging: bool | None = None, rejection_code: int | None = None) -> dict[str, Any]:
    """Authorize (`authorized`) or reject (`rejected-pending`) a pending order; the API requires a reason.
    `rejection_code` is sent beside it: the order carries one, though the request schema does not list it."""
    if status not in ANSWERS:
        raise ReconcilerError(f"a port-out can be set only to {' or '.join(ANSWERS)}, not {status!r}")
    body: dict[str, Any] = {"reason": reason}
    if host_messaging is not None:
        body["host_messaging"] = host_messaging
    if rejection_code is not None:
        body["rejection_code"] = rejection_code
    return api.patch(f"{PATH}/{portout_id}/{status}", body, what=f"setting port-out {portout_id} to {status}")


def add_comment(api: Api, portout_id: str, body: str) -> dict[str, Any]:
    return api.post(f"{PATH}/{portout_id}/comments", {"body": body}, what=f"commenting on port-out {portout_id}")


def without_credentials(value: Any) -> Any:
    """`value` with every PIN field, at any depth, shown as `(sensitive)`."""
    if isinstance(value, Mapping):
        return {k: SENSITIVE if k in CREDENTIAL_FIELDS and v else without_credentials(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_credentials(v) for v in value]
    return value


# -- reports -------------------------------------------------------------------------------------

def create_report(api: Api, filters: Filters | None = None) -> dict[str, Any]:
    """Start an `export_portouts_csv` report; filters are the report's own (`status__in`,
    `phone_numbers__overlaps`, `created_at__gt`, ...). A repeat after a lost answer only makes a
    second report, so the plain POST is used."""
    body = {"report_type": REPORT_TYPE, "params": {"filters": dict(filters or {})}}
    return api.post(f"{PATH}/reports", body, what="creating a port-out report")


def get_report(api: Api, report_id: str) -> dict[str, Any]:
    return dict(api.get(f"{PATH}/reports/{report_id}", what=f"reading port-out report {report_id}")["data"])


def wait_for_report(api: Api, report_id: str, *, timeout: float = REPORT_TIMEOUT,
                    sleep: Callable[[float], None] = time.sleep,
                    clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """Poll until the report is `completed`; ReconcilerError if it is not within `timeout` seconds."""
    deadline = clock() + timeout
    for delay in retry.delays():
        report = get_report(api, report_id)
        if report.get("status") == "completed":
            return report
        left = deadline - clock()
        if left <= 0:
            raise ReconcilerError(f"port-out report {report_id} is still {report.get('status')} after {timeout:g} s",
                                  "Read it later with GET /portouts/reports/{id}.")
        sleep(min(delay, left))
    raise AssertionError("unreachable: the delays have no end")


def export_portouts(api: Api, filters: Filters | None = None, **wait: Any) -> dict[str, Any]:
    """Create a report and wait for it (keyword arguments go to `wait_for_report`)."""
    return wait_for_report(api, str(create_report(api, filters)["id"]), **wait)
