"""Port-out orders: `/portouts` (list), `/portouts/{id}` (get), `PATCH /portouts/{id}/{status}`,
`/portouts/{id}/comments` and `/portouts/{id}/supporting_documents` (list, add), and
`/portouts/rejections/{portout_id}` (the rejection codes eligible for an order).

Orders cannot be created through the API (another carrier opens them), only seeded; the seed
format is in seed.py. A stored order is its API shape plus, privately, what the spec filters on but
does not show (`_country_code`, `_ported_out_at`, `_customer_reference`), its eligible rejection
codes, comments and documents, and the deadlines below. Fields without a value are left out of a
response (the spec declares them as non-nullable strings), except `reason`.

The life of an order, on the sandbox clock (each step is a `portout.status_changed` event):

    pending           -> authorized   PATCH .../authorized, or by itself `portout_answer_hours` (24 or 48,
                                      default 48: assumed; the guide gives both) after created_at;
                                      a missing foc_date becomes the requested one (portout.foc_date_changed)
    pending           -> rejected-pending   PATCH .../rejected-pending with a reason
    authorized        -> ported       at the foc_date (`_ported_out_at` is set)
    rejected-pending  -> rejected     REVIEW_HOURS after the rejection (Porting Ops upheld it)

The numbers an order holds follow it, when the account has them (`phone_numbers`; mobile numbers
are left as they are). The spec's phone number statuses have a word for each stage and BEHAVIOUR.md
has the number leave the account on the FOC date, so:

    order pending, authorized or rejected-pending   an active number is `port-out-pending`
    order ported                                    the number is `ported-out`: no longer active
    order rejected or canceled                      a `port-out-pending` number is `active` again,
                                                    unless another open order still holds it

A rejection under review keeps its numbers pending: Porting Ops may still let the port go ahead.
Neither status is `active`, so the number can no longer be changed or deleted, and the reconciler
leaves it alone. Seeded orders set their numbers' status the same way, without moving `updated_at`.

Only a pending order can be authorized or rejected (422 10015 otherwise). `reason` is required by
the spec for both; a rejection needs one that is not blank, unless it names a `rejection_code` (a
sandbox extension: the spec's body has no such field, though the order shows one) whose
`reason_required` is false; the code must be one of the order's eligible codes. The answer carries
the order with the code it was given (`rejection_code`): the guide has the code in the request body and
the spec has it on the order, so echoing it is documented in part and assumed in part. Every comment is a
`portout.new_comment` event.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

from ..errors import ApiError, ErrorItem, bad_value, not_found
from ..store import Record, State, parse_timestamp, timestamp
from . import phone_number_records as pn
from . import portout_events as events
from .base import Call, Collection, Due, Handler, Reply
from .portout_events import declared_only, newest, within

PENDING, AUTHORIZED, PORTED, REJECTED, REJECTED_PENDING = (
    "pending", "authorized", "ported", "rejected", "rejected-pending")
STATUSES = (PENDING, AUTHORIZED, PORTED, REJECTED, REJECTED_PENDING, "canceled")
OPEN = (PENDING, AUTHORIZED, REJECTED_PENDING)  # the orders that may still take their numbers
NUMBERS = "phone_numbers"
PORT_OUT_PENDING, PORTED_OUT = "port-out-pending", "ported-out"
REVIEW_HOURS = 24
DEFAULT_REJECTIONS = (
    {"code": 1002, "description": "Invalid PIN", "reason_required": False},
    {"code": 1003, "description": "Account number mismatch", "reason_required": False},
    {"code": 1004, "description": "Subscriber name mismatch", "reason_required": False},
    {"code": 1005, "description": "Service address mismatch", "reason_required": False},
    {"code": 1099, "description": "Other", "reason_required": True},
)
API_FIELDS = ("already_ported", "authorized_name", "carrier_name", "city", "current_carrier", "end_user_name",
              "foc_date", "host_messaging", "lsr", "phone_numbers", "pon", "reason", "rejection_code",
              "requested_foc_date", "service_address", "spid", "state", "status", "support_key", "user_id",
              "vendor", "zip")
TIMES = ("id", "record_type", "created_at", "inserted_at", "updated_at")
SEED_ONLY = ("country_code", "ported_out_at", "customer_reference", "rejection_codes", "comments",
             "supporting_documents")
FILTERS = ("carrier_name", "country_code", "country_code_in", "foc_date", "inserted_at", "phone_number", "pon",
           "ported_out_at", "spid", "status", "status_in", "support_key")
Matcher = Callable[[Record, Any], bool]


def _moment(value: Any, field: str) -> str:
    """Any ISO 8601 date or date-time -> the sandbox's timestamp form, so stored times compare as text."""
    try:
        return timestamp(parse_timestamp(str(value)))
    except ValueError:
        raise bad_value(f"'{value}' is not an ISO 8601 date-time.", pointer=f"/{field}") from None


def _local(value: Any, field: str) -> str:
    """A FOC date in the sandbox's form but in the time zone it was given in (assumed: a carrier's FOC
    date keeps the gaining side's offset), so that its calendar day stays the order's own."""
    moment = parse_timestamp(_moment(value, field)).astimezone(_zone(str(value)))
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _zone(text: str) -> timezone:
    try:
        given = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return timezone.utc
    return given.tzinfo if isinstance(given.tzinfo, timezone) else timezone.utc


def _later(moment: str, hours: float) -> str:
    return timestamp(parse_timestamp(moment) + timedelta(hours=hours))


def _same_day(moment: Any, day: Any) -> bool:
    return bool(moment) and parse_timestamp(str(moment)).date() == parse_timestamp(str(day)).date()


MATCHERS: dict[str, Matcher] = {
    "carrier_name": lambda r, v: str(r.get("carrier_name") or "").casefold() == str(v).casefold(),
    "country_code": lambda r, v: r["_country_code"] == str(v).upper(),
    "country_code_in": lambda r, v: r["_country_code"] in [str(c).upper() for c in v],
    "foc_date": lambda r, v: _same_day(r.get("foc_date"), v),
    "inserted_at": lambda r, v: within(r["inserted_at"], v),
    "phone_number": lambda r, v: v in r["phone_numbers"],
    "ported_out_at": lambda r, v: bool(r.get("_ported_out_at")) and within(r["_ported_out_at"], v),
    "status_in": lambda r, v: r["status"] in v,
}


def _plain(field: str) -> Matcher:
    return lambda r, v: r.get(field) == v


class Portouts(Collection):
    name = "portouts"
    label = "Port-out"
    id_kind = "uuid"
    schema = "/components/schemas/PortoutDetails"
    listener: Callable[[Record], None] | None = None  # webhook delivery (sandbox/webhooks.py), when attached

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("GET", "/portouts"): self.list_all,
            ("GET", "/portouts/{id}"): self.retrieve,
            ("PATCH", "/portouts/{id}/{status}"): self.patch_status,
            ("GET", "/portouts/{id}/comments"): self.list_comments,
            ("POST", "/portouts/{id}/comments"): self.post_comment,
            ("GET", "/portouts/{id}/supporting_documents"): self.list_documents,
            ("POST", "/portouts/{id}/supporting_documents"): self.post_documents,
            ("GET", "/portouts/rejections/{portout_id}"): self.list_rejections,
        }

    # -- seeding -------------------------------------------------------------------------
    def create(self, state: State, fields: Mapping[str, Any]) -> Record:
        unknown = sorted(set(fields) - set(API_FIELDS) - set(TIMES) - set(SEED_ONLY))
        if unknown:
            raise bad_value(f"unknown port-out fields: {', '.join(unknown)}")
        numbers = list(fields.get("phone_numbers") or [])
        if not numbers or not all(isinstance(n, str) and pn.E164.match(n) for n in numbers):
            raise ApiError(422, [ErrorItem("10016", "phone_numbers must be a list of +E.164 numbers.",
                                           pointer="/phone_numbers")])
        order: Record = {**self.server_fields(state, fields), "record_type": "portout", "status": PENDING,
                           "current_carrier": "telnyx", "already_ported": False, "host_messaging": False,
                           "reason": None, "user_id": state.user_id}
        order.update({k: v for k, v in fields.items() if k in API_FIELDS})
        if order["status"] not in STATUSES:
            raise bad_value(f"status must be one of: {', '.join(STATUSES)}", pointer="/status")
        order.update(self._derived(order, fields))
        order.update(_comments=[self._comment(state, order["id"], c) for c in fields.get("comments", [])],
                       _documents=[self._document(state, order["id"], d)
                                   for d in fields.get("supporting_documents", [])])
        stored = state.insert(self.name, order)
        _hold_numbers(state, stored)
        if self.listener:  # an order opened while webhooks are delivered is announced; seeds are not
            self.listener(events.record(state, self.settings, "portout.status_changed", stored["id"],
                                        _status_payload(stored)))
        return stored

    def _derived(self, order: Record, fields: Mapping[str, Any]) -> Record:
        times = {f: _moment(order[f], f) for f in ("created_at", "updated_at") if order.get(f)}
        times.update({f: _local(order[f], f) for f in ("foc_date", "requested_foc_date") if order.get(f)})
        created = times["created_at"]
        derived: Record = {
            **times, "inserted_at": _moment(fields.get("inserted_at") or created, "inserted_at"),
            "support_key": order.get("support_key") or f"PO_{int(order['id'].replace('-', ''), 16) % 10**6:06d}",
            "_country_code": str(fields.get("country_code") or pn.country_of(order["phone_numbers"][0])).upper(),
            "_ported_out_at": fields.get("ported_out_at") and _moment(fields["ported_out_at"], "ported_out_at"),
            "_customer_reference": fields.get("customer_reference"),
            "_rejections": [dict(r) for r in fields.get("rejection_codes", DEFAULT_REJECTIONS)],
            "_answer_by": _later(created, self.settings.portout_answer_hours),
            "_review_until": _later(times["updated_at"], REVIEW_HOURS),
        }
        return derived

    def _comment(self, state: State, portout_id: str, fields: Mapping[str, Any]) -> Record:
        if not isinstance(fields.get("body"), str) or not fields["body"].strip():
            raise ApiError(422, [ErrorItem("10004", "The 'body' field is required.", pointer="/body")])
        return {"id": str(fields.get("id") or state.new_id("uuid")), "record_type": "portout", "body": fields["body"],
                "portout_id": portout_id, "user_id": str(fields.get("user_id") or state.user_id),
                "created_at": _moment(fields.get("created_at") or state.now(), "created_at")}

    def _document(self, state: State, portout_id: str, fields: Mapping[str, Any]) -> Record:
        created = _moment(fields.get("created_at") or state.now(), "created_at")
        return {"id": str(fields.get("id") or state.new_id("uuid")), "record_type": "supporting_document",
                "type": fields["type"], "portout_id": portout_id, "document_id": fields["document_id"],
                "created_at": created, "updated_at": created}

    def render(self, state: State, order: Record) -> dict[str, Any]:
        return {k: v for k, v in order.items() if not k.startswith("_") and (v is not None or k == "reason")}

    # -- the clock -----------------------------------------------------------------------
    def due(self, state: State) -> list[Due]:
        now, steps = state.now(), []
        for ident in state.ids(self.name):
            step = _next_step(state.peek(self.name, ident) or {})
            if step and step[0] <= now:
                steps.append((step[0], ident, self._bound(state, ident)))
        return steps

    def _bound(self, state: State, ident: str) -> Callable[[], None]:
        return lambda: self._run_steps(state, ident)

    def _run_steps(self, state: State, ident: str) -> None:
        """Every step that has come due, in order: an order authorized by itself may have ported since."""
        while (order := state.peek(self.name, ident)) and (step := _next_step(order)) and step[0] <= state.now():
            self._move(state, order, step[1], {}, at=step[0])

    # -- reading -------------------------------------------------------------------------
    def list_all(self, call: Call) -> Reply:
        wanted = call.query.get("filter") or {}
        declared_only(wanted, FILTERS)
        tests = [(MATCHERS.get(key) or _plain(key), value) for key, value in wanted.items()]
        orders = newest(call.state, self.name, lambda order: all(test(order, v) for test, v in tests))
        return self.page(call.state, orders, call.query)

    def _order(self, call: Call, param: str = "id") -> Record:
        ident = call.params[param]
        order = call.state.peek(self.name, ident)
        if order is None:
            raise not_found(self.label, ident)
        return order

    def list_rejections(self, call: Call) -> Reply:
        codes = (call.query.get("filter") or {}).get("code")
        wanted = None if codes is None else set(codes if isinstance(codes, list) else [codes])
        rejections = [dict(r) for r in self._order(call, "portout_id")["_rejections"]
                      if wanted is None or r["code"] in wanted]
        return 200, {"data": rejections}

    def list_comments(self, call: Call) -> Reply:
        comments = [dict(c) for c in self._order(call)["_comments"]]
        meta = {"page_number": 1, "page_size": max(len(comments), 1), "total_pages": 1,
                "total_results": len(comments)}
        return 200, {"data": comments, "meta": meta}

    def list_documents(self, call: Call) -> Reply:
        # The spec declares only 201 for this read.
        return 201, {"data": [dict(d) for d in self._order(call)["_documents"]]}

    # -- changing ------------------------------------------------------------------------
    def patch_status(self, call: Call) -> Reply:
        order, target = self._order(call), call.params["status"]
        if order["status"] != PENDING:
            verb = "authorized" if target == AUTHORIZED else "rejected"
            raise ApiError(422, [ErrorItem("10015", f"The port-out is {order['status']}; only a pending port-out "
                                                    f"can be {verb}.", parameter="status")])
        reason = str(call.fields["reason"]).strip() or None
        changes: Record = {"reason": reason}
        if "host_messaging" in call.fields:
            changes["host_messaging"] = call.fields["host_messaging"]
        if target == REJECTED_PENDING:
            changes.update(self._rejection(order, call.fields, reason),
                           _review_until=_later(call.state.now(), REVIEW_HOURS))
        return self.reply(call.state, self._move(call.state, order, target, changes))

    def _rejection(self, order: Record, fields: Mapping[str, Any], reason: str | None) -> Record:
        if "rejection_code" not in fields:
            if reason is None:
                raise ApiError(422, [ErrorItem("10004", "A reason is required to reject a port-out.",
                                               pointer="/reason")])
            return {}
        eligible = {r["code"]: r for r in order["_rejections"]}
        code = fields["rejection_code"]
        if code not in eligible:
            raise bad_value(f"Rejection code {code} is not eligible for this port-out; see "
                            f"/portouts/rejections/{order['id']}.", pointer="/rejection_code")
        if eligible[code].get("reason_required") and reason is None:
            raise ApiError(422, [ErrorItem("10004", f"Rejection code {code} requires a reason.", pointer="/reason")])
        return {"rejection_code": code}

    def _move(self, state: State, order: Record, status: str, changes: Record, at: str | None = None) -> Record:
        """Change an order's status (now, or `at` a moment that has passed) and record the events."""
        when = at or state.now()
        moved: Record = {**order, **changes, "status": status, "updated_at": when}
        if status == PORTED:
            moved["_ported_out_at"] = when
        focused = status == AUTHORIZED and not order.get("foc_date") and order.get("requested_foc_date")
        if focused:
            moved["foc_date"] = order["requested_foc_date"]
        with state.batch():
            stored = state.replace(self.name, order["id"], moved)
            _hold_numbers(state, stored, at=when)
            changed = events.record(state, self.settings, "portout.status_changed", order["id"], _status_payload(stored), at=when)
            if focused:
                events.record(state, self.settings, "portout.foc_date_changed", order["id"],
                       {"id": order["id"], "foc_date": moved["foc_date"], "user_id": order["user_id"]}, at=when)
        if self.listener:
            self.listener(changed)
        return stored

    def post_comment(self, call: Call) -> Reply:
        order = self._order(call)
        comment = self._comment(call.state, order["id"], {"body": call.fields.get("body")})
        with call.state.batch():
            call.state.replace(self.name, order["id"], {**order, "_comments": [*order["_comments"], comment]})
            events.record(call.state, self.settings, "portout.new_comment", order["id"],
                   {"id": comment["id"], "portout_id": order["id"], "comment": comment["body"],
                    "user_id": comment["user_id"]})
        return 201, {"data": comment}

    def post_documents(self, call: Call) -> Reply:
        order = self._order(call)
        if "documents" not in call.fields:
            raise ApiError(422, [ErrorItem("10004", "The 'documents' field is required.", pointer="/documents")])
        added = [self._document(call.state, order["id"], d) for d in call.fields["documents"]]
        call.state.replace(self.name, order["id"], {**order, "_documents": [*order["_documents"], *added]})
        return 201, {"data": added}


def _next_step(order: Record) -> tuple[str, str] | None:
    """(when, next status) of the step an order takes by itself, if any."""
    status = order.get("status")
    if status == PENDING:
        return order["_answer_by"], AUTHORIZED
    if status == AUTHORIZED and (order.get("foc_date") or order.get("requested_foc_date")):
        return _moment(order.get("foc_date") or order["requested_foc_date"], "foc_date"), PORTED
    if status == REJECTED_PENDING:
        return order["_review_until"], REJECTED
    return None


def _status_payload(order: Record) -> dict[str, Any]:
    return {"id": order["id"], "status": order["status"], "carrier_name": order.get("carrier_name"),
            "spid": order.get("spid"), "phone_numbers": list(order["phone_numbers"]),
            "subscriber_name": order.get("end_user_name"), "user_id": order["user_id"],
            "rejection_reason": order.get("reason") if order["status"] in (REJECTED_PENDING, REJECTED) else None}


def _hold_numbers(state: State, order: Record, at: str | None = None) -> None:
    """Give the account's numbers in `order` the status the order's own status means for them."""
    for number in order["phone_numbers"]:
        ident = state.lookup(NUMBERS, "phone_number", number)
        record = state.peek(NUMBERS, ident) if ident else None
        if record is None:
            continue
        current = record.get("status", pn.ACTIVE)
        wanted = _number_status(state, order, number, current)
        if wanted != current:
            changed = {**record, "status": wanted, **({"updated_at": at} if at else {})}
            state.replace(NUMBERS, str(ident), pn.compact(changed))


def _number_status(state: State, order: Record, number: str, current: str) -> str:
    if order["status"] == PORTED and current in (pn.ACTIVE, PORT_OUT_PENDING):
        return PORTED_OUT
    if order["status"] in OPEN and current == pn.ACTIVE:
        return PORT_OUT_PENDING
    if order["status"] not in OPEN and current == PORT_OUT_PENDING and not _held_elsewhere(state, order, number):
        return pn.ACTIVE
    return current


def _held_elsewhere(state: State, order: Record, number: str) -> bool:
    """Whether another open order holds `number`."""
    return any(other["id"] != order["id"] and other["status"] in OPEN and number in other["phone_numbers"]
               for other in (state.peek(Portouts.name, i) for i in state.ids(Portouts.name)) if other)
