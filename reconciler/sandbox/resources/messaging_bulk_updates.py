"""Messaging bulk updates: `POST /messaging_numbers_bulk_updates` and
`GET /messaging_numbers_bulk_updates/{order_id}`.

An order sets `messaging_profile_id` (a profile's UUID, or "" to unassign) on many phone numbers,
given as E.164 strings (10016 otherwise; at least one). The spec declares 200 for the POST, so it
answers 200 with every number `pending`. The order then runs like a phone-number job (see
background.py for the timing) and at its end each number is in `success` or `failed`: failed when
it is not in the account or not `active`. The response shape has no per-number reasons.

`assign_only` (default false): the spec says that true only assigns the profile "without changing
other settings", so false changes them too. Which settings, and to what, it does not say; the sandbox
assumes a number's `messaging_product` goes back to the default a new assignment gets (`A2P`) when
`assign_only` is false, and is kept when it is true.
"""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, ErrorItem, bad_value
from ..store import Record, State
from . import phone_number_records as pn
from .background import PENDING, Queue, schedule
from .base import Call, Collection, Due, Handler, Reply
from .phone_numbers import profile_changes

NUMBERS = "phone_numbers"
DONE = "done"
RESET_PRODUCT = pn.DEFAULTS["messaging_product"]  # assumed: what other settings become without assign_only


class MessagingBulkUpdates(Collection):
    name = "messaging_bulk_updates"
    label = "Messaging bulk update"
    id_kind = "uuid"
    schema = "/components/schemas/BulkMessagingSettingsUpdatePhoneNumbers"
    id_param = "order_id"
    seedable = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Queue(self.name, lambda record: record["_status"] == PENDING)

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("POST", "/messaging_numbers_bulk_updates"): self.post,
            ("GET", "/messaging_numbers_bulk_updates/{order_id}"): self.retrieve,
        }

    def render(self, state: State, record: Record) -> dict[str, Any]:
        return {"order_id": record["id"], "record_type": "messaging_numbers_bulk_update",
                "pending": list(record["numbers"]) if record["_status"] == PENDING else [],
                "success": list(record["success"]), "failed": list(record["failed"])}

    def due(self, state: State) -> list[Due]:
        return self.queue.due(state, lambda ident: self._run(state, ident))

    def post(self, call: Call) -> Reply:
        numbers = list(dict.fromkeys(call.fields["numbers"]))
        if not numbers:
            raise bad_value("You must provide at least 1 phone number.", pointer="/numbers")
        for index, number in enumerate(call.fields["numbers"]):
            if not pn.E164.match(number):
                raise ApiError(422, [ErrorItem("10016", f"'{number}' is not a +E.164 phone number.",
                                               pointer=f"/numbers/{index}")])
        profile = call.fields["messaging_profile_id"]
        profile_changes({}, profile)  # refuses a profile id that is not a UUID
        times = schedule(call.state, self.settings, len(numbers))
        record: Record = {
            "id": call.state.new_id("uuid"), "_status": PENDING, "numbers": numbers, "messaging_profile_id": profile,
            "success": [], "failed": [], "created_at": times["created_at"], "etc": times["etc"],
            "_assign_only": bool(call.fields.get("assign_only", False)),
        }
        return self.reply(call.state, call.state.insert(self.name, record))

    def _run(self, state: State, ident: str) -> None:
        order = state.get(self.name, ident)
        if order is None or order["_status"] != PENDING:
            return
        success, failed = [], []
        with state.batch():
            for number in order["numbers"]:
                found = state.lookup(NUMBERS, "phone_number", number)
                record = state.peek(NUMBERS, found) if found else None
                if record is None or pn.inactive_problem(record):
                    failed.append(number)
                    continue
                changes = profile_changes(record, order["messaging_profile_id"])
                if not order.get("_assign_only"):
                    changes["messaging_product"] = RESET_PRODUCT
                state.replace(NUMBERS, record["id"], pn.changed(record, changes, order["etc"]))
                success.append(number)
            state.replace(self.name, ident, {**order, "_status": DONE, "success": success, "failed": failed})
