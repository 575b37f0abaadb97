"""What phone numbers and mobile numbers share: E.164 keys, voice setting models and their API defaults,
and the comparison of numbers the account owns (the tool never buys a number and leaves alone a number
that is not usable)."""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reconciler.compare import desired_view
from reconciler.kinds.base import DiffContext, Entry, Kind, KindDiff
from reconciler.plan import Action, Change, FieldChange
from reconciler.states import LiveResource
from reconciler.text import shortened

LEAVING = {
    "port-out-pending": "it is being ported out",
    "ported-out": "it has been ported out",
    "deleted": "it has been released",
}
NOT_READY = "it is not usable yet"
SHOWN_PER_NOTE = 20
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
        return None if value is None else sorted(set(value))  # the account keeps tags as a set


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


def project_settings(live: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The live values at the places `wanted` sets. A number's nested mappings are all settings groups, so
    this needs no look at the models (which compare.project makes for every field: most of the cost of
    comparing a large account)."""
    view: dict[str, Any] = {}
    for name, value in wanted.items():
        current = live.get(name)
        view[name] = project_settings(current, value) if isinstance(value, dict) and isinstance(current, dict) else current
    return view


def setting_changes(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[FieldChange]:
    """Each changed setting, by dotted path, in a stable order. Settings are flat values, tag sets or groups
    of them, so `!=` per key does what DeepDiff would, at a fraction of its cost on large accounts; a tag
    set is shown whole, before and after."""
    found: list[FieldChange] = []
    for name in sorted(after):
        old, new = before.get(name), after[name]
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            found.extend(setting_changes(old, new, f"{prefix}{name}."))
        else:
            found.append(FieldChange(f"{prefix}{name}", old, new))
    return found


def is_e164(value: str) -> bool:
    return len(value) <= 16 and value.startswith("+") and value[1:].isdigit() and value[1] != "0" and len(value) >= 3


class OwnedNumbers(Kind):
    """Numbers the account owns: never created, never pruned; a number not in a usable state is left alone."""

    key_field = "phone_number"
    prunable = False

    def live_view(self, attrs: dict[str, Any], wanted: dict[str, Any], ctx: DiffContext) -> dict[str, Any]:
        """The live values, in the config's words, at the places `wanted` sets."""
        return project_settings(attrs, wanted)

    def diff(self, entries: list[Entry], live: list[LiveResource], prune: bool, ctx: DiffContext) -> KindDiff:
        by_key = {r.key: r for r in live}
        result = KindDiff()
        not_owned = [self.key_of(e) for e in entries if self.key_of(e) not in by_key]
        if not_owned:
            result.errors.append(
                f"{len(not_owned)} {self.title}(s) in the config are not in the account (the tool manages numbers "
                f"the account owns; it does not buy them): {', '.join(not_owned)}"
            )
        left_alone: dict[str, list[str]] = defaultdict(list)
        for entry in entries:
            current = by_key.get(self.key_of(entry))
            if current is None:
                continue
            change = self.compare(entry, current, ctx, result)
            # A number that is leaving or not yet usable is not "fixed", nor released: the API would refuse.
            if change is not None and current.attrs.get("status", "active") != "active":
                left_alone[current.attrs["status"]].append(current.key)
            elif change is not None:
                result.changes.append(change)
        result.notes.extend(self._left_alone_notes(left_alone))
        return result

    def compare(self, entry: Entry, live: LiveResource, ctx: DiffContext, result: KindDiff) -> Change | None:
        wanted = desired_view(self, entry)
        current = self.live_view(live.attrs, wanted, ctx)
        reason = self._write_only(live, wanted, current, ctx)
        if current == wanted:
            return None
        fields = tuple(setting_changes(current, wanted))
        return Change(self.name, live.key, Action.UPDATE, current, wanted, fields, reason, live.id, entry.prevent_destroy)

    def _write_only(self, live: LiveResource, wanted: dict[str, Any], current: dict[str, Any], ctx: DiffContext) -> str:
        """Write-only fields the API reads back as null count as set when the fingerprint of what the tool
        last wrote matches the config (state.py). Returns words for a field that must be written."""
        unread = [f for f in self.fingerprinted if f in wanted and wanted[f] is not None and current.get(f) is None]
        if not unread:
            return ""
        recorded = ctx.recorded(self.name, live.key, live.id)
        if recorded is not None and recorded == ctx.fingerprint(self.name, live.key, self.material(wanted)):
            current.update({f: wanted[f] for f in unread})
            return ""
        if recorded is not None:
            return f"{', '.join(sorted(unread))} changed"
        return (f"{', '.join(sorted(unread))} unverified: the API does not show it, and the tool has not set it "
                "before; setting it lets the tool recognise it from now on")

    def _left_alone_notes(self, left_alone: dict[str, list[str]]) -> list[str]:
        notes = []
        for status, numbers in sorted(left_alone.items()):
            why = LEAVING.get(status, NOT_READY)
            shown = shortened(numbers, SHOWN_PER_NOTE)
            notes.append(f"{len(numbers)} {self.title}(s) differ from the config but are {status}, so they are left "
                         f"alone ({why}): {shown}")
        return notes
