"""Mobile phone numbers: `/v2/mobile_phone_numbers` (list, get, update) and their messaging views
`/mobile_phone_numbers/messaging`, `/mobile_phone_numbers/{id}/messaging`.

The spec's paths for this area really carry a literal `/v2` (so below the base URL
`http://host/v2` the request path is `/v2/v2/mobile_phone_numbers`, which is what the official SDK
sends); the sandbox serves them where the spec puts them. Numeric-string ids; numbers come from
seeds. Stored in the `MobilePhoneNumber` shape plus `messaging_profile_id` and
`messaging_product`, which only the messaging views show.

Spec differences resolved here: `MobilePhoneNumberUpdate.noise_suppression` is a boolean while the
resource's is an enum, so true stores `both` and false `disabled`. The list's `page[number]` and
`page[size]` are plain integers without bounds in the spec; the sandbox holds them to 1..250 like
the rest of the numbers API (422 10015 otherwise). Lists come newest first.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import ApiError, ErrorItem, bad_value, not_found
from ..store import Record, State
from . import phone_number_records as pn
from .base import Call, Collection, Handler, Reply, paginate, pick
from .listing import Rendered, Views, newest_first

MAX_PAGE_SIZE = 250
GROUPS: dict[str, dict[str, Any]] = {
    "call_forwarding": {"call_forwarding_enabled": True, "forwards_to": None},  # forwarding_type: no null in its enum
    "call_recording": {"inbound_call_recording_enabled": False, "inbound_call_recording_channels": "single",
                       "inbound_call_recording_format": "wav"},
    "cnam_listing": {"cnam_listing_enabled": False, "cnam_listing_details": None},
    "inbound": {"interception_app_id": None, "interception_app_name": None},
    "outbound": {"interception_app_id": None, "interception_app_name": None},
}
SCALARS: dict[str, Any] = {
    "status": "active", "tags": [], "connection_id": None, "connection_name": None, "connection_type": None,
    "customer_reference": None, "caller_id_name_enabled": False, "inbound_call_screening": "disabled",
    "noise_suppression": "disabled", "mobile_voice_enabled": True, "sim_card_id": None,
    "messaging_profile_id": None, "messaging_product": "P2P",
}
MESSAGING_ONLY = ("messaging_profile_id", "messaging_product")
UPDATABLE = ("call_forwarding", "call_recording", "caller_id_name_enabled", "cnam_listing", "connection_id",
             "customer_reference", "inbound", "inbound_call_screening", "noise_suppression", "outbound", "tags")


class MobilePhoneNumbers(Collection):
    name = "mobile_phone_numbers"
    label = "Mobile phone number"
    id_kind = "numeric"
    schema = "/components/schemas/MobilePhoneNumber"
    unique_fields = ("phone_number",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.views = Views()
        # Each list's encoded rows, reused while a number's stored record stays the same (listing.py).
        self.as_listed: Rendered[None] = Rendered(lambda record, _: listed(record))
        self.as_messaging: Rendered[str] = Rendered(messaging)

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("GET", "/v2/mobile_phone_numbers"): self.list_all,
            ("GET", "/v2/mobile_phone_numbers/{id}"): self.retrieve,
            ("PATCH", "/v2/mobile_phone_numbers/{id}"): self.patch,
            ("GET", "/mobile_phone_numbers/messaging"): self.list_messaging,
            ("GET", "/mobile_phone_numbers/{id}/messaging"): self.get_messaging,
        }

    def create(self, state: State, fields: Mapping[str, Any]) -> Record:
        number = fields.get("phone_number")
        if not isinstance(number, str) or not pn.E164.match(number):
            raise ApiError(422, [ErrorItem("10016", f"phone_number {number!r} is not in +E.164 format.",
                                           pointer="/phone_number")])
        unknown = sorted(set(fields) - set(SCALARS) - set(GROUPS) - {
            "id", "phone_number", "record_type", "country_iso_alpha2", "created_at", "updated_at"})
        if unknown:
            raise ApiError(422, [ErrorItem("10015", f"unknown mobile phone number field(s): {', '.join(unknown)}")])
        record: Record = {**self.server_fields(state, fields), "record_type": "mobile_phone_number",
                          "phone_number": number, "country_iso_alpha2": fields.get("country_iso_alpha2")
                          or pn.country_of(number)}
        record.update({k: fields.get(k, v) for k, v in SCALARS.items()})
        record.update({k: {**v, **fields.get(k, {})} for k, v in GROUPS.items()})
        if record["sim_card_id"] is None:
            record.pop("sim_card_id")  # a uuid when present; the schema has no null
        return state.insert(self.name, record, copy_record=False)

    def render(self, state: State, record: Record) -> dict[str, Any]:
        return listed(record)

    def fetch(self, call: Call, *, by_number: bool = False) -> Record:
        ident = call.params[self.id_param]
        record = call.state.peek(self.name, ident)
        if record is None and by_number and ident.startswith("+"):
            found = call.state.lookup(self.name, "phone_number", ident)
            record = call.state.peek(self.name, found) if found else None
        if record is None:
            raise not_found(self.label, ident)
        return record

    def _ordered(self, state: State) -> list[str]:
        return list(self.views.ids(state, self.name, "newest", lambda: newest_first(state, self.name,
                                                                                     state.ids(self.name)),
                                   content=False))

    def list_all(self, call: Call) -> Reply:
        page = {"number": call.query.get("page[number]", 1), "size": call.query.get("page[size]", 20)}
        if page["size"] > MAX_PAGE_SIZE:
            raise bad_value(f"The 'page[size]' parameter must be less than or equal to {MAX_PAGE_SIZE}.",
                            parameter="page[size]")
        rows, meta = paginate(self._ordered(call.state), {"page": page})
        return 200, {"data": self.as_listed.many(call.state.peek_many(self.name, rows), None), "meta": meta}

    def patch(self, call: Call) -> Reply:
        record = self.fetch(call)
        changes = pick(call.fields, UPDATABLE)
        target = (changes.get("call_forwarding") or {}).get("forwards_to")
        if target and not pn.E164.match(str(target)):
            raise ApiError(422, [ErrorItem("10016", "forwards_to must be a +E.164 phone number.",
                                           pointer="/call_forwarding/forwards_to")])
        merged = {**record, **{k: v for k, v in changes.items() if k not in GROUPS}}
        merged.update({k: {**record[k], **v} for k, v in changes.items() if k in GROUPS})
        if "noise_suppression" in changes:
            merged["noise_suppression"] = "both" if changes["noise_suppression"] else "disabled"
        if "tags" in changes:
            merged["tags"] = list(dict.fromkeys(changes["tags"]))
        if changes.get("connection_id") != record.get("connection_id") and "connection_id" in changes:
            merged.update(connection_name=None, connection_type=None)  # connections are not modelled
        merged["updated_at"] = call.state.now()
        return self.reply(call.state, call.state.replace(self.name, record["id"], merged))

    def list_messaging(self, call: Call) -> Reply:
        rows, meta = paginate(self._ordered(call.state), call.query)
        records = call.state.peek_many(self.name, rows)
        return 200, {"data": self.as_messaging.many(records, call.state.organization_id), "meta": meta}

    def get_messaging(self, call: Call) -> Reply:
        return 200, {"data": self.as_messaging.one(self.fetch(call, by_number=True), call.state.organization_id)}


def listed(record: Record) -> dict[str, Any]:
    """MobilePhoneNumber: the stored record without the fields only the messaging views show."""
    return {k: v for k, v in record.items() if k not in MESSAGING_ONLY}


def messaging(record: Record, organization_id: str) -> dict[str, Any]:
    product = record.get("messaging_product", "P2P")
    return {
        "id": record["id"], "record_type": "messaging_settings", "phone_number": record["phone_number"],
        "country_code": record.get("country_iso_alpha2") or pn.country_of(record["phone_number"]), "type": "longcode",
        "messaging_profile_id": record.get("messaging_profile_id"), "messaging_product": product,
        "traffic_type": product, "features": {"sms": dict(pn.SMS_FEATURES)}, "organization_id": organization_id,
        "tags": list(record.get("tags", ())), "created_at": record["created_at"], "updated_at": record["updated_at"],
    }
