"""What phone numbers and mobile numbers share: E.164 keys, voice setting models and their API defaults,
and what both answer to the diff (kinds/base.py's hooks) about numbers the account owns: the tool never
buys a number (`NOT_BOUGHT`) and leaves alone a number that is not usable (`left_alone`). Each kind of
number is a Kind of its own that uses these; neither overrides the other."""

from __future__ import annotations

import sys
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reconciler.states import Entry, LiveResource

LEAVING = {
    "port-out-pending": "it is being ported out",
    "ported-out": "it has been ported out",
    "deleted": "it has been released",
}
NOT_READY = "it is not usable yet"
NOT_BOUGHT = "the tool manages numbers the account owns; it does not buy them"
# What a new number has (the spec's defaults): an export leaves these out, so they stay unmanaged until a
# team writes them, and the config of a large account stays small.
CALL_DEFAULTS: dict[str, Any] = {
    "call_forwarding": {"call_forwarding_enabled": True, "forwards_to": None, "forwarding_type": None},
    "call_recording": {"inbound_call_recording_enabled": False, "inbound_call_recording_channels": "single",
                       "inbound_call_recording_format": "wav"},
    "cnam_listing": {"cnam_listing_enabled": False, "cnam_listing_details": None},
    "inbound_call_screening": "disabled",
    "caller_id_name_enabled": False,
}
VOICE_DEFAULTS: dict[str, Any] = {
    **CALL_DEFAULTS,
    "media_features": {"accept_any_rtp_packets_enabled": False, "rtp_auto_adjust_enabled": True,
                       "t38_fax_gateway_enabled": False},
    "translated_number": "",
    "usage_payment_method": "pay-per-minute",
    "tech_prefix_enabled": False,
}


class SettingsGroup(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CallForwarding(SettingsGroup):
    call_forwarding_enabled: bool | None = None
    forwards_to: str | None = None
    forwarding_type: Literal["always", "on-failure"] | None = None


class CallRecording(SettingsGroup):
    inbound_call_recording_enabled: bool | None = None
    inbound_call_recording_channels: Literal["single", "dual"] | None = None
    inbound_call_recording_format: Literal["wav", "mp3"] | None = None


class CnamListing(SettingsGroup):
    cnam_listing_enabled: bool | None = None
    cnam_listing_details: str | None = None


class MediaFeatures(SettingsGroup):
    accept_any_rtp_packets_enabled: bool | None = None
    rtp_auto_adjust_enabled: bool | None = None
    t38_fax_gateway_enabled: bool | None = None


class Voice(SettingsGroup):
    """Voice settings as the API names them (phone numbers read them from /phone_numbers/voice, only when used)."""

    call_forwarding: CallForwarding | None = None
    call_recording: CallRecording | None = None
    cnam_listing: CnamListing | None = None
    media_features: MediaFeatures | None = None
    inbound_call_screening: Literal["disabled", "reject_calls", "flag_calls"] | None = None
    caller_id_name_enabled: bool | None = None
    translated_number: str | None = None
    usage_payment_method: Literal["pay-per-minute", "channel"] | None = None
    tech_prefix_enabled: bool | None = None


class NumberEntry(Entry):
    """An owned number: the key and the settings every kind of number has."""

    phone_number: str = Field(description="E.164: + and country code, digits only, e.g. '+13125550100' (quoted).")
    tags: list[str] | None = None
    customer_reference: str | None = None
    connection_id: str | None = None

    @field_validator("phone_number", mode="before")
    @classmethod
    def _e164(cls, value: Any) -> Any:
        if isinstance(value, int):
            raise ValueError(
                f"write the number in quotes, e.g. '+{value}': unquoted, YAML reads it as the integer {value}"
            )
        if not isinstance(value, str) or not is_e164(value):
            raise ValueError(f"{value!r} is not in E.164 format (a +, the country code and digits only)")
        return value

    @field_validator("tags")
    @classmethod
    def _tag_set(cls, value: list[str] | None) -> list[str] | None:
        if value is None or len(value) < 2:  # most numbers: a list of its own (validation built it), already a set
            return value
        return sorted(set(value))  # the account keeps tags as a set


def shared(value: Any) -> Any:
    """One copy of a string that many numbers hold; anything else as it is."""
    return sys.intern(value) if type(value) is str else value


def without_defaults(values: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """`values` less what equals the API's default (or is unset), nested groups included."""
    kept: dict[str, Any] = {}
    for name, value in values.items():
        default = defaults.get(name)
        if isinstance(value, dict):
            value = without_defaults(value, default if isinstance(default, dict) else {})
        if value is None or value == {} or value == default:
            continue
        kept[name] = value
    return kept


def is_e164(value: str) -> bool:
    digits = value[1:]  # ASCII only: str.isdigit() also takes Arabic-Indic, full-width and superscript digits
    return 3 <= len(value) <= 16 and value.startswith("+") and digits.isascii() and digits.isdigit() and digits[0] != "0"


def left_alone(number: LiveResource) -> str | None:
    """A number that is leaving or not yet usable is not "fixed", nor released: the API would refuse."""
    status = number.attrs.get("status", "active")
    if status == "active":
        return None
    return f"are {status}, so they are left alone ({LEAVING.get(status, NOT_READY)})"
