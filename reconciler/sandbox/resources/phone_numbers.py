"""Phone numbers: `/phone_numbers` and its per-number, voice, messaging and slim endpoints.

    GET    /phone_numbers, /phone_numbers/slim, /phone_numbers/voice, /phone_numbers/messaging
    GET    PATCH DELETE /phone_numbers/{id}
    GET    PATCH /phone_numbers/{id}/voice, /phone_numbers/{id}/messaging (the latter also by E.164)
    POST   /phone_numbers/{id}/actions/enable_emergency, /phone_numbers/actions/verify_ownership
    PATCH  /phone_numbers/{id}/actions/bundle_status_change

Numeric-string ids; numbers come from seeds (the spec has no create). The stored shape and the
views are in `phone_number_records`, filters and orders in `phone_number_filters`. Lists cost
O(page size) once their order is cached. Rules the service enforces: only `active` numbers can be
changed or deleted (422 10015); a deletion-locked number cannot be deleted (422 10015);
`billing_group_id` and `address_id` must name existing resources and `enable_emergency` an
existing address (422 10017). Enabling emergency answers 202 with `emergency_status:
provisioning`, which reads `active` once `job_seconds` have passed; disabling answers 200 and
releases the address, so it can be deleted again (an address that is some number's emergency
address cannot: 422 10021, via `uses`). A bundle status change keeps `bundle_id` on the record but
serves it nowhere, as no response schema declares it; it takes a UUID (bundles are not modelled, so
any UUID is a bundle: assumed), and a number already in another bundle is refused (422 10015: the
request's description says to remove it first; the code is assumed).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Iterable, Mapping

from ..errors import ApiError, ErrorItem, bad_value, not_found
from ..store import Record, State, timestamp
from . import phone_number_filters as filters
from . import phone_number_records as pn
from .base import Call, Collection, Handler, Reply, paginate, pick
from .listing import Rendered, Views

UPDATABLE = ("address_id", "billing_group_id", "connection_id", "customer_reference", "external_pin",
             "hd_voice_enabled", "tags")
CLEARABLE = ("address_id", "billing_group_id", "connection_id")  # "" unassigns
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
CNAM = re.compile(r"^[A-Za-z0-9 ]{1,15}$")
SLIM_STATUS_ALIASES = {"port_pending": "port-pending"}  # the slim list's enum spells it with an underscore
MESSAGING_FILTERS = {"messaging_profile_id": "filter[messaging_profile_id]", "phone_number": "filter[phone_number]",
                     "phone_number_contains": "filter[phone_number][contains]", "type": "filter[type]"}


def unique_tags(tags: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def update_changes(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Request fields -> stored changes: "" unassigns, tags lose duplicates."""
    changes = dict(fields)
    for key in CLEARABLE:
        if changes.get(key) == "":
            changes[key] = None
    if "tags" in changes:
        changes["tags"] = unique_tags(changes["tags"])
    return changes


def connection_changes(record: Record, changes: dict[str, Any]) -> dict[str, Any]:
    # The sandbox models no connections: a new connection's name is unknown.
    if "connection_id" in changes and changes["connection_id"] != record.get("connection_id"):
        changes["connection_name"] = None
    return changes


def require_active(record: Record) -> None:
    problem = pn.inactive_problem(record)
    if problem:
        raise ApiError(422, [problem])


class PhoneNumbers(Collection):
    name = "phone_numbers"
    label = "Phone number"
    id_kind = "numeric"
    schema = "/components/schemas/PhoneNumberDetailed"
    unique_fields = ("phone_number",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.views = Views()
        # Each view's encoded rows, reused while a number's stored record stays the same (listing.py).
        self.as_detailed = Rendered(pn.detailed, pn.emergency_status)
        self.as_slim = Rendered(pn.slim, pn.emergency_status)
        self.as_voice = Rendered(pn.voice, pn.emergency_status)
        self.as_messaging: Rendered[str] = Rendered(pn.messaging)

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("GET", "/phone_numbers"): self.list_all,
            ("GET", "/phone_numbers/slim"): self.list_slim,
            ("GET", "/phone_numbers/voice"): self.list_voice,
            ("GET", "/phone_numbers/messaging"): self.list_messaging,
            ("GET", "/phone_numbers/{id}"): self.retrieve,
            ("PATCH", "/phone_numbers/{id}"): self.patch,
            ("DELETE", "/phone_numbers/{id}"): self.remove,
            ("GET", "/phone_numbers/{id}/voice"): self.get_voice,
            ("PATCH", "/phone_numbers/{id}/voice"): self.patch_voice,
            ("GET", "/phone_numbers/{id}/messaging"): self.get_messaging,
            ("PATCH", "/phone_numbers/{id}/messaging"): self.patch_messaging,
            ("POST", "/phone_numbers/{id}/actions/enable_emergency"): self.enable_emergency,
            ("POST", "/phone_numbers/actions/verify_ownership"): self.verify_ownership,
            ("PATCH", "/phone_numbers/{id}/actions/bundle_status_change"): self.bundle_status_change,
        }

    # -- building ------------------------------------------------------------------------
    def create(self, state: State, fields: Mapping[str, Any]) -> Record:
        record = pn.from_seed(fields)
        if "id" not in record or "created_at" not in record:
            record.update(self.server_fields(state, record))
        pn.check_references(state, record)
        return state.insert(self.name, record, copy_record=False)

    def render(self, state: State, record: Record) -> dict[str, Any]:
        return pn.detailed(record, state.now())

    def uses(self, record: Record) -> Iterable[tuple[str, str]]:
        return pn.references(record)

    def fetch(self, call: Call, *, by_number: bool = False) -> Record:
        """The stored record (not a copy) for the path's id, or, with `by_number`, its E.164 number."""
        ident = call.params[self.id_param]
        record = call.state.peek(self.name, ident)
        if record is None and by_number and ident.startswith("+"):
            found = call.state.lookup(self.name, "phone_number", ident)
            record = call.state.peek(self.name, found) if found else None
        if record is None:
            raise not_found(self.label, ident)
        return record

    def _store(self, state: State, record: Record, changes: Mapping[str, Any]) -> Record:
        return state.replace(self.name, record["id"], pn.changed(record, changes, state.now()), copy_record=False)

    # -- lists ---------------------------------------------------------------------------
    def _page(self, call: Call, wanted: Mapping[str, Any], sort: str | None, view: str, **status: Any) -> tuple[
            list[Record], dict[str, int]]:
        tests = filters.predicates(wanted, **status)
        ids = filters.ordered(call.state, self.views, tests, sort, {"view": view, "filter": wanted, "sort": sort})
        rows, meta = paginate(ids, call.query)
        return call.state.peek_many(self.name, rows), meta

    def _sort(self, call: Call) -> str | None:
        return str(call.query["sort"]) if "sort" in call.given else None

    def list_all(self, call: Call) -> Reply:
        rows, meta = self._page(call, call.query.get("filter") or {}, self._sort(call), "detailed")
        now = call.state.now()
        return 200, {"data": self.as_detailed.many(rows, now), "meta": meta}

    def list_slim(self, call: Call) -> Reply:
        wanted = call.query.get("filter") or {}
        tags, connection = bool(call.query.get("include_tags")), bool(call.query.get("include_connection"))
        if "tag" in wanted and not tags:
            raise bad_value("The 'filter[tag]' parameter requires include_tags=true.", parameter="filter[tag]")
        if "voice.connection_name" in wanted and not connection:
            raise bad_value("The 'filter[voice.connection_name]' parameter requires include_connection=true.",
                            parameter="filter[voice.connection_name]")
        rows, meta = self._page(call, wanted, self._sort(call), "slim", status_aliases=SLIM_STATUS_ALIASES)
        now = call.state.now()
        return 200, {"data": self.as_slim.many(rows, now), "meta": meta}

    def list_voice(self, call: Call) -> Reply:
        rows, meta = self._page(call, call.query.get("filter") or {}, self._sort(call), "voice")
        now = call.state.now()
        return 200, {"data": self.as_voice.many(rows, now), "meta": meta}

    def list_messaging(self, call: Call) -> Reply:
        # This list declares each filter as a literal parameter name rather than one deepObject.
        wanted = {key: call.query[name] for key, name in MESSAGING_FILTERS.items() if name in call.query}
        direction = call.query.get("sort[phone_number]")
        sort = None if direction is None else ("-phone_number" if direction == "desc" else "phone_number")
        tests = _messaging_predicates(wanted)
        ids = filters.ordered(call.state, self.views, tests, sort, {"view": "messaging", "filter": wanted,
                                                                     "sort": sort})
        rows, meta = paginate(ids, call.query)
        records = call.state.peek_many(self.name, rows)
        return 200, {"data": self.as_messaging.many(records, call.state.organization_id), "meta": meta}

    # -- one number ----------------------------------------------------------------------
    def retrieve(self, call: Call) -> Reply:
        return 200, {"data": self.as_detailed.one(self.fetch(call), call.state.now())}

    def patch(self, call: Call) -> Reply:
        record = self.fetch(call)
        require_active(record)
        changes = connection_changes(record, update_changes(pick(call.fields, UPDATABLE)))
        pn.check_references(call.state, changes)
        updated = self._store(call.state, record, changes)
        return 200, {"data": self.as_detailed.one(updated, call.state.now())}

    def remove(self, call: Call) -> Reply:
        record = self.fetch(call)
        problem = pn.inactive_problem(record) or pn.locked_problem(record, pointer="/deletion_lock_enabled")
        if problem:
            raise ApiError(422, [problem])
        call.state.delete(self.name, record["id"])
        return 200, {"data": pn.deleted(record, call.state.now())}

    def get_voice(self, call: Call) -> Reply:
        return 200, {"data": self.as_voice.one(self.fetch(call), call.state.now())}

    def patch_voice(self, call: Call) -> Reply:
        record = self.fetch(call)
        require_active(record)
        changes = pick(call.fields, pn.VOICE_SCALARS + tuple(pn.VOICE_GROUPS))
        check_voice(record, changes)
        updated = self._store(call.state, record, changes)
        return 200, {"data": self.as_voice.one(updated, call.state.now())}

    def get_messaging(self, call: Call) -> Reply:
        record = self.fetch(call, by_number=True)
        return 200, {"data": self.as_messaging.one(record, call.state.organization_id)}

    def patch_messaging(self, call: Call) -> Reply:
        record = self.fetch(call, by_number=True)
        require_active(record)
        changes = messaging_changes(record, call.fields)
        updated = self._store(call.state, record, changes)
        return 200, {"data": self.as_messaging.one(updated, call.state.organization_id)}

    def enable_emergency(self, call: Call) -> Reply:
        record = self.fetch(call)
        require_active(record)
        changes: dict[str, Any]
        if not call.fields["emergency_enabled"]:
            changes = {"emergency_enabled": False, "emergency_address_id": None, "emergency_status": None,
                       "_emergency_ready_at": None}
            return 200, {"data": self.as_voice.one(self._store(call.state, record, changes), call.state.now())}
        address = str(call.fields["emergency_address_id"])
        pn.check_references(call.state, {"emergency_address_id": address})
        if record.get("emergency_enabled") and record.get("emergency_address_id") == address:
            return 200, {"data": self.as_voice.one(record, call.state.now())}
        ready = call.state.now_datetime() + timedelta(seconds=self.settings.job_seconds)
        changes = {"emergency_enabled": True, "emergency_address_id": address, "emergency_status": "provisioning",
                   "_emergency_ready_at": timestamp(ready)}
        return 202, {"data": self.as_voice.one(self._store(call.state, record, changes), call.state.now())}

    def bundle_status_change(self, call: Call) -> Reply:
        record = self.fetch(call)
        require_active(record)
        bundle = str(call.fields["bundle_id"])
        if not UUID.match(bundle):
            raise bad_value("bundle_id must be a bundle's UUID.", pointer="/bundle_id")
        current = record.get("_bundle_id")
        if current and current != bundle:
            raise bad_value(f"The phone number is in bundle {current}; remove it from that bundle before assigning it "
                            "to another.", pointer="/bundle_id")
        updated = self._store(call.state, record, {"_bundle_id": bundle})
        return 200, {"data": self.as_voice.one(updated, call.state.now())}

    def verify_ownership(self, call: Call) -> Reply:
        """`found`: numbers in the account that can be edited (active); `not_found`: not in the account."""
        found, missing = [], []
        for number in unique_tags(call.fields["phone_numbers"]):
            ident = call.state.lookup(self.name, "phone_number", number)
            record = call.state.peek(self.name, ident) if ident else None
            if record is None:
                missing.append(number)
            elif record.get("status", pn.ACTIVE) == pn.ACTIVE:
                found.append({"id": record["id"], "number_val_e164": number})
        return 200, {"data": {"found": found, "not_found": missing, "record_type": "number_ownership_verification"}}


def _messaging_predicates(wanted: Mapping[str, Any]) -> list[filters.Predicate]:
    tests: list[filters.Predicate] = []
    if "messaging_profile_id" in wanted:
        tests.append(lambda r: r.get("messaging_profile_id") == wanted["messaging_profile_id"])
    if "phone_number" in wanted:
        numbers = {n.strip() for n in str(wanted["phone_number"]).split(",")}
        tests.append(lambda r: r["phone_number"] in numbers)
    if "phone_number_contains" in wanted:
        tests.append(lambda r: str(wanted["phone_number_contains"]) in r["phone_number"])
    if "type" in wanted:
        tests.append(lambda r: pn.messaging(r, "")["type"] == wanted["type"])
    return tests


def check_voice(record: Record, changes: Mapping[str, Any], prefix: str = "") -> None:
    """Voice settings the service refuses; `prefix` places the pointers (`/voice` inside a job)."""
    target = changes.get("call_forwarding", {}).get("forwards_to")
    if target and not pn.E164.match(str(target)):
        raise ApiError(422, [ErrorItem("10016", "forwards_to must be a +E.164 phone number.",
                                       pointer=f"{prefix}/call_forwarding/forwards_to")])
    given = changes.get("cnam_listing", {})
    cnam = {**pn.group(record, "cnam_listing"), **given}
    details = cnam.get("cnam_listing_details")
    if details is not None and not CNAM.match(str(details)):
        raise bad_value("cnam_listing_details must be 1 to 15 letters, digits or spaces.",
                        pointer=f"{prefix}/cnam_listing/cnam_listing_details")
    if cnam.get("cnam_listing_enabled") and not details and record:
        raise bad_value("cnam_listing_enabled requires cnam_listing_details.",
                        pointer=f"{prefix}/cnam_listing/cnam_listing_details")
    if details and not cnam.get("cnam_listing_enabled") and "cnam_listing_details" in given and record:
        raise bad_value("cnam_listing_details requires cnam_listing_enabled to be true.",
                        pointer=f"{prefix}/cnam_listing/cnam_listing_enabled")


def messaging_changes(record: Record, fields: Mapping[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "messaging_profile_id" in fields:
        changes.update(profile_changes(record, fields["messaging_profile_id"]))
    if "messaging_product" in fields:
        eligible = pn.messaging(record, "")["eligible_messaging_products"]
        if fields["messaging_product"] not in eligible:
            raise bad_value(f"messaging_product must be one of {', '.join(eligible)} for this number.",
                            pointer="/messaging_product")
        changes["messaging_product"] = fields["messaging_product"]
    if "tags" in fields:
        changes["tags"] = unique_tags(fields["tags"])
    return changes


def profile_changes(record: Record, profile: str) -> dict[str, Any]:
    """`""` unassigns the messaging profile; anything else must be a profile's UUID."""
    if profile and not UUID.match(profile):
        raise bad_value("messaging_profile_id must be a messaging profile's UUID, or \"\" to unassign.",
                        pointer="/messaging_profile_id")
    changes: dict[str, Any] = {"messaging_profile_id": profile or None}
    if (profile or None) != record.get("messaging_profile_id"):
        changes["messaging_profile_name"] = None  # profiles are not modelled: the new name is unknown
    return changes
