"""Phone numbers as the sandbox stores them, and every view the API gives of one.

A stored number is compact: `id`, `phone_number`, `created_at`, `updated_at`, plus only the
settings that differ from `DEFAULTS` (a 100,000 number account takes about a third of the memory
it would in full API shape). Everything a response shows is derived from that one record, so the
detailed, slim, voice and messaging views always agree, e.g. on the emergency settings:

    detailed  PhoneNumberDetailed            GET/PATCH /phone_numbers/{id}, lists
    deleted   PhoneNumberDeletedDetailed     DELETE /phone_numbers/{id}
    slim      SlimPhoneNumberDetailed        GET /phone_numbers/slim
    voice     PhoneNumberWithVoiceSettings   /phone_numbers/{id}/voice, /voice, enable_emergency
                                             (no caller_id_name_enabled: written here, read in detailed)
    messaging PhoneNumberWithMessagingSettings  /phone_numbers/{id}/messaging, /messaging

`external_pin` is write-only: it is stored, and shown as null (the detailed view requires the key)
or left out (views where the spec types it as a non-null string). Likewise other unset,
non-nullable fields are left out rather than sent as null. Derived when not stored:
`country_iso_alpha2` and `phone_number_type` from the E.164 prefix, `purchased_at` from
`created_at`, `activated_at` from `created_at` for numbers that were activated, `emergency_status`
from `emergency_enabled`. An emergency activation through `enable_emergency` reads `provisioning`
until its `_emergency_ready_at` time has passed, then `active`. That is the only thing a view reads
from the clock: the lists keep each number's encoded view while its record and emergency status stay
the same (`Rendered` in listing.py).

Only `active` numbers can be changed or deleted (`inactive_problem`), the rule the jobs apply per
number too.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from ..errors import ApiError, ErrorItem
from ..store import Record, State

ACTIVE = "active"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
STATUSES = (
    "purchase-pending", "purchase-failed", "port-pending", "port-failed", "active", "deleted", "emergency-only",
    "ported-out", "port-out-pending", "requirement-info-pending", "requirement-info-under-review",
    "requirement-info-exception", "provision-pending",
)
# Statuses a number only reaches after it was activated once.
ACTIVATED = frozenset({"active", "emergency-only", "port-out-pending", "ported-out"})
TOLL_FREE_PREFIXES = ("+1800", "+1833", "+1844", "+1855", "+1866", "+1877", "+1888")
COUNTRY_PREFIXES = (
    ("+1", "US"), ("+44", "GB"), ("+49", "DE"), ("+33", "FR"), ("+31", "NL"), ("+34", "ES"), ("+39", "IT"),
    ("+353", "IE"), ("+46", "SE"), ("+61", "AU"), ("+64", "NZ"), ("+81", "JP"), ("+55", "BR"), ("+52", "MX"),
)

DEFAULTS: dict[str, Any] = {
    "status": ACTIVE, "tags": [], "connection_id": None, "connection_name": None, "billing_group_id": None,
    "customer_reference": None, "external_pin": None, "deletion_lock_enabled": False, "hd_voice_enabled": False,
    "emergency_enabled": False, "emergency_address_id": None, "messaging_profile_id": None,
    "messaging_profile_name": None, "messaging_product": "A2P", "source_type": "number_order",
    "inbound_call_screening": "disabled", "caller_id_name_enabled": False, "tech_prefix_enabled": False,
    "translated_number": "", "usage_payment_method": "pay-per-minute", "address_id": None,
}
VOICE_GROUPS: dict[str, dict[str, Any]] = {
    "call_forwarding": {"call_forwarding_enabled": True},
    "call_recording": {"inbound_call_recording_enabled": False, "inbound_call_recording_channels": "single",
                       "inbound_call_recording_format": "wav"},
    "cnam_listing": {"cnam_listing_enabled": False},
    "media_features": {"accept_any_rtp_packets_enabled": False, "rtp_auto_adjust_enabled": True,
                       "t38_fax_gateway_enabled": False},
}
# The detailed view's flat flags, and where each lives in the voice settings.
FLAGS = {
    "call_forwarding_enabled": ("call_forwarding", "call_forwarding_enabled"),
    "call_recording_enabled": ("call_recording", "inbound_call_recording_enabled"),
    "cnam_listing_enabled": ("cnam_listing", "cnam_listing_enabled"),
    "t38_fax_gateway_enabled": ("media_features", "t38_fax_gateway_enabled"),
}
TIMES = ("id", "phone_number", "created_at", "updated_at", "purchased_at", "activated_at", "country_iso_alpha2",
         "phone_number_type", "emergency_status")
SEED_FIELDS = frozenset(DEFAULTS) | frozenset(VOICE_GROUPS) | frozenset(TIMES)
ECHOED = frozenset(FLAGS) | {"record_type"}  # read-only fields of a copied API response
_ACCEPTED = SEED_FIELDS | ECHOED
VOICE_SCALARS = ("caller_id_name_enabled", "inbound_call_screening", "tech_prefix_enabled", "translated_number",
                 "usage_payment_method")
# Written through the voice settings but read only from the detailed view: PhoneNumberWithVoiceSettings
# does not declare it.
DETAILED_ONLY = frozenset({"caller_id_name_enabled"})
SMS_FEATURES = {"domestic_two_way": True, "international_inbound": True, "international_outbound": True}
MMS_FEATURES = {"domestic_two_way": True, "international_inbound": False, "international_outbound": False}


# -- derived values ------------------------------------------------------------------------
_COUNTRY_BY_PREFIX = dict(COUNTRY_PREFIXES)
_PREFIX_LENGTHS = sorted({len(prefix) for prefix, _ in COUNTRY_PREFIXES}, reverse=True)


def country_of(number: str) -> str:
    """The country of the longest known prefix (US when none is known); every listed number asks this."""
    for length in _PREFIX_LENGTHS:
        country = _COUNTRY_BY_PREFIX.get(number[:length])
        if country is not None:
            return country
    return "US"


def number_type_of(number: str) -> str:
    return "toll_free" if number.startswith(TOLL_FREE_PREFIXES) else "local"


def emergency_status(record: Record, now: str) -> str:
    stored = record.get("emergency_status")
    if stored == "provisioning" and now >= record.get("_emergency_ready_at", ""):
        return "active"
    return stored or ("active" if record.get("emergency_enabled") else "disabled")


def activated_at(record: Record) -> Any:
    if "activated_at" in record:
        return record["activated_at"]
    return record["created_at"] if record.get("status", ACTIVE) in ACTIVATED else None


def group(record: Record, name: str) -> dict[str, Any]:
    return {**VOICE_GROUPS[name], **record.get(name, {})}


def _flag(record: Record, name: str) -> bool:
    where, key = FLAGS[name]
    return bool(record.get(where, {}).get(key, VOICE_GROUPS[where][key]))


# -- views ---------------------------------------------------------------------------------
def detailed(record: Record, now: str) -> dict[str, Any]:
    get = record.get
    number, created = record["phone_number"], record["created_at"]
    return {
        "id": record["id"], "record_type": "phone_number", "phone_number": number,
        "status": get("status", ACTIVE), "tags": list(get("tags", ())), "external_pin": None,
        "connection_id": get("connection_id"), "connection_name": get("connection_name"),
        "billing_group_id": get("billing_group_id"), "customer_reference": get("customer_reference"),
        "messaging_profile_id": get("messaging_profile_id"), "messaging_profile_name": get("messaging_profile_name"),
        "deletion_lock_enabled": get("deletion_lock_enabled", False),
        "hd_voice_enabled": get("hd_voice_enabled", False),
        "emergency_enabled": get("emergency_enabled", False), "emergency_address_id": get("emergency_address_id"),
        "emergency_status": emergency_status(record, now),
        "country_iso_alpha2": get("country_iso_alpha2") or country_of(number),
        "phone_number_type": get("phone_number_type") or number_type_of(number),
        "source_type": get("source_type", "number_order"),
        "inbound_call_screening": get("inbound_call_screening", "disabled"),
        "caller_id_name_enabled": get("caller_id_name_enabled", False),
        **{name: _flag(record, name) for name in FLAGS},
        "created_at": created, "updated_at": get("updated_at", created), "purchased_at": get("purchased_at", created),
        "activated_at": activated_at(record),
    }


# Keys the slim and deleted schemas type as non-null strings: left out when unset.
_NON_NULL = ("billing_group_id", "connection_id", "connection_name", "customer_reference", "emergency_address_id",
             "messaging_profile_id", "messaging_profile_name")


def slim(record: Record, now: str) -> dict[str, Any]:
    """`include_tags` and `include_connection` change which filters a slim list accepts, not its items:
    SlimPhoneNumberDetailed declares neither `tags` nor `connection_name`."""
    full = detailed(record, now)
    for key in ("tags", "connection_name", "messaging_profile_id", "messaging_profile_name",
                "deletion_lock_enabled", "source_type", "external_pin"):
        full.pop(key)
    return {k: v for k, v in full.items() if not (v is None and k in _NON_NULL)}


def deleted(record: Record, now: str) -> dict[str, Any]:
    full = detailed(record, now)
    for key in ("country_iso_alpha2", "emergency_status", "inbound_call_screening", "source_type", "external_pin"):
        full.pop(key)
    full["status"] = "deleted"
    return {k: v for k, v in full.items() if not (v is None and k in _NON_NULL)}


def voice(record: Record, now: str) -> dict[str, Any]:
    get = record.get
    emergency = {"emergency_enabled": get("emergency_enabled", False),
                 "emergency_status": emergency_status(record, now)}
    if get("emergency_address_id") is not None:
        emergency["emergency_address_id"] = record["emergency_address_id"]
    view: dict[str, Any] = {"id": record["id"], "record_type": "voice_settings", "phone_number": record["phone_number"]}
    for key in ("connection_id", "customer_reference"):
        if get(key) is not None:
            view[key] = record[key]
    view.update({key: get(key, DEFAULTS[key]) for key in VOICE_SCALARS if key not in DETAILED_ONLY})
    view.update({name: group(record, name) for name in VOICE_GROUPS})
    view["emergency"] = emergency
    return view


def messaging(record: Record, organization_id: str) -> dict[str, Any]:
    get = record.get
    number = record["phone_number"]
    toll_free = (get("phone_number_type") or number_type_of(number)) == "toll_free"
    product = get("messaging_product", "A2P")
    return {
        "id": record["id"], "record_type": "messaging_settings", "phone_number": number,
        "country_code": get("country_iso_alpha2") or country_of(number),
        "type": "tollfree" if toll_free else "longcode",
        "messaging_profile_id": get("messaging_profile_id"), "messaging_product": product, "traffic_type": product,
        "eligible_messaging_products": ["A2P"] if toll_free else ["A2P", "P2P"],
        "features": {"sms": dict(SMS_FEATURES), "mms": None if toll_free else dict(MMS_FEATURES)},
        "organization_id": organization_id, "tags": list(get("tags", ())),
        "created_at": record["created_at"], "updated_at": get("updated_at", record["created_at"]),
    }


# -- building and changing -----------------------------------------------------------------
def compact(record: Mapping[str, Any]) -> Record:
    """Drop what equals its default, so the stored record holds only what was set."""
    out: Record = {}
    for key, value in record.items():
        default = DEFAULTS.get(key, _MISSING)
        if default is not _MISSING:
            if value == default:
                continue
        elif key in VOICE_GROUPS:
            value = {k: v for k, v in value.items() if VOICE_GROUPS[key].get(k, _MISSING) != v}
            if not value:
                continue
        elif key[0] == "_" and value is None:
            continue
        elif key == "emergency_status" and value in (None, "active" if record.get("emergency_enabled") else "disabled"):
            continue
        out[key] = value
    return out


_MISSING = object()


def from_seed(entry: Mapping[str, Any]) -> Record:
    """A seed entry (or a copied API response) -> the compact stored shape; unknown fields are refused."""
    number = entry.get("phone_number")
    if not isinstance(number, str) or not E164.match(number):
        raise ApiError(422, [ErrorItem("10016", f"phone_number {number!r} is not in +E.164 format.",
                                       pointer="/phone_number")])
    unknown = entry.keys() - _ACCEPTED
    if unknown:
        raise ApiError(422, [ErrorItem("10015", f"unknown phone number field(s): {', '.join(sorted(unknown))}")])
    if ECHOED.isdisjoint(entry):
        record = compact(entry)
    else:
        record = {k: v for k, v in entry.items() if k not in ECHOED}
        for name, (where, key) in FLAGS.items():
            if name in entry and key not in record.get(where, {}):
                record[where] = {**record.get(where, {}), key: entry[name]}
        record = compact(record)
    tags = record.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ApiError(422, [ErrorItem("10015", f"tags: {tags!r} is not a list of strings.", pointer="/tags")])
    if record.get("emergency_enabled") and not record.get("emergency_address_id"):
        raise ApiError(422, [ErrorItem("10004", "emergency_enabled needs an emergency_address_id.",
                                       pointer="/emergency_address_id")])
    status = record.get("status", ACTIVE)
    if status != ACTIVE and (status not in STATUSES or status == "deleted"):
        raise ApiError(422, [ErrorItem("10015", f"status {status!r} is not one a listed number has.",
                                       pointer="/status")])
    return record


def changed(record: Record, changes: Mapping[str, Any], now: str) -> Record:
    """The record with top-level `changes` and per-group voice changes merged, compacted."""
    merged = dict(record)
    for key, value in changes.items():
        merged[key] = {**record.get(key, {}), **value} if key in VOICE_GROUPS else value
    merged["updated_at"] = now
    return compact(merged)


def check_references(state: State, changes: Mapping[str, Any], pointer_prefix: str = "") -> None:
    """422 10017 when a billing group or address named by `changes` does not exist."""
    if not (changes.get("billing_group_id") or changes.get("emergency_address_id") or changes.get("address_id")):
        return
    problems = [ErrorItem("10017", f"{label} '{changes[key]}' does not exist.", pointer=f"{pointer_prefix}/{key}")
                for key, collection, label in (("billing_group_id", "billing_groups", "Billing group"),
                                               ("emergency_address_id", "addresses", "Address"),
                                               ("address_id", "addresses", "Address"))
                if changes.get(key) and state.peek(collection, str(changes[key])) is None]
    if problems:
        raise ApiError(422, problems)


def inactive_problem(record: Record, pointer: str | None = None) -> ErrorItem | None:
    status = record.get("status", ACTIVE)
    if status == ACTIVE:
        return None
    return ErrorItem("10015", f"The phone number {record['phone_number']} is {status}; only active numbers can be "
                     "changed or deleted.", pointer=pointer)


def locked_problem(record: Record, pointer: str | None = None) -> ErrorItem | None:
    if not record.get("deletion_lock_enabled"):
        return None
    return ErrorItem("10015", f"The phone number {record['phone_number']} has deletion_lock_enabled; turn the lock "
                     "off before deleting it.", pointer=pointer)


def references(record: Record) -> Iterable[tuple[str, str]]:
    address = record.get("emergency_address_id")
    return (("addresses", str(address)),) if address else ()
