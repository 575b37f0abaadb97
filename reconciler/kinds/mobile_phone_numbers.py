"""Mobile phone numbers the account owns, and their settings. Key: `phone_number` in E.164.

The API lists them at /v2/mobile_phone_numbers (the literal /v2 is part of the path in Telnyx's own
contract, below the /v2 base URL) and updates them one at a time: it has no batch call for them.
`noise_suppression` is left out: the API reads it as a string and writes it as a boolean.
"""

from __future__ import annotations

from typing import Any, Literal

from reconciler.kinds import owned_numbers
from reconciler.kinds.base import Kind, Names
from reconciler.kinds.owned_numbers import (
    CALL_DEFAULTS,
    CallForwarding,
    CallRecording,
    CnamListing,
    NumberEntry,
    SettingsGroup,
    without_defaults,
)
from reconciler.states import LiveResource

SETTINGS = (
    "tags", "customer_reference", "connection_id", "inbound_call_screening", "caller_id_name_enabled",
    "call_forwarding", "call_recording", "cnam_listing", "inbound", "outbound",
)


class Interception(SettingsGroup):
    interception_app_id: str | None = None


class MobilePhoneNumber(NumberEntry):
    inbound_call_screening: Literal["disabled", "reject_calls", "flag_calls"] | None = None
    caller_id_name_enabled: bool | None = None
    call_forwarding: CallForwarding | None = None
    call_recording: CallRecording | None = None
    cnam_listing: CnamListing | None = None
    inbound: Interception | None = None
    outbound: Interception | None = None


class MobilePhoneNumbers(Kind):
    """Numbers the account owns: never created, never pruned; a number not in a usable state is left alone."""

    name = "mobile_phone_numbers"
    title = "mobile phone number"
    model = MobilePhoneNumber
    key_field = "phone_number"
    path = "/v2/mobile_phone_numbers"
    prunable = False
    never_created = owned_numbers.NOT_BOUGHT

    def left_alone(self, live: LiveResource) -> str | None:
        return owned_numbers.left_alone(live)

    def from_api(self, raw: dict[str, Any]) -> LiveResource | None:
        attrs: dict[str, Any] = {k: raw.get(k) for k in SETTINGS}
        attrs["tags"] = sorted(set(raw.get("tags") or []))
        attrs["phone_number"] = raw["phone_number"]
        attrs["status"] = raw.get("status") or "active"
        for direction in ("inbound", "outbound"):
            if isinstance(attrs[direction], dict):
                attrs[direction] = {"interception_app_id": attrs[direction].get("interception_app_id")}
        return LiveResource(raw["phone_number"], str(raw["id"]), attrs, raw.get("created_at", ""))

    def export(self, live: LiveResource, names: Names) -> dict[str, Any]:
        """Every setting the kind manages, less what is at the API's default for a new number."""
        entry: dict[str, Any] = {"phone_number": live.key, "tags": live.attrs.get("tags") or []}
        entry.update({k: live.attrs[k] for k in ("customer_reference", "connection_id") if live.attrs.get(k)})
        settings = {k: live.attrs.get(k) for k in SETTINGS if k not in entry and k not in ("tags",)}
        entry.update(without_defaults(settings, {**CALL_DEFAULTS, "inbound": {}, "outbound": {}}))
        return entry
