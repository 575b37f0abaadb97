"""What phone numbers and mobile numbers share: E.164 keys, voice setting models, and the comparison of
numbers the account owns (the tool never buys a number and leaves alone a number that is not usable)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reconciler.compare import desired_view, field_changes, project
from reconciler.kinds.base import DiffContext, Entry, Kind, KindDiff, LiveResource
from reconciler.plan import Action, Change

LEAVING = {
    "port-out-pending": "it is being ported out",
    "ported-out": "it has been ported out",
    "deleted": "it has been released",
}
NOT_READY = "it is not usable yet"
SHOWN_PER_NOTE = 20


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CallForwarding(_Settings):
    call_forwarding_enabled: bool | None = None
    forwards_to: str | None = None
    forwarding_type: Literal["always", "on-failure"] | None = None


class CallRecording(_Settings):
    inbound_call_recording_enabled: bool | None = None
    inbound_call_recording_channels: Literal["single", "dual"] | None = None
    inbound_call_recording_format: Literal["wav", "mp3"] | None = None


class CnamListing(_Settings):
    cnam_listing_enabled: bool | None = None
    cnam_listing_details: str | None = None


class MediaFeatures(_Settings):
    accept_any_rtp_packets_enabled: bool | None = None
    rtp_auto_adjust_enabled: bool | None = None
    t38_fax_gateway_enabled: bool | None = None


class Voice(_Settings):
    """Voice settings as the API names them (phone numbers read them from /phone_numbers/voice, only when used)."""

    call_forwarding: CallForwarding | None = None
    call_recording: CallRecording | None = None
    cnam_listing: CnamListing | None = None
    media_features: MediaFeatures | None = None
    inbound_call_screening: Literal["disabled", "reject_calls", "flag_calls"] | None = None
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


def is_e164(value: str) -> bool:
    return len(value) <= 16 and value.startswith("+") and value[1:].isdigit() and value[1] != "0" and len(value) >= 3


class OwnedNumbers(Kind):
    """Numbers the account owns: never created, never pruned; a number not in a usable state is left alone."""

    key_field = "phone_number"
    prunable = False

    def config_view(self, attrs: dict[str, Any], ctx: DiffContext) -> dict[str, Any]:
        """Live values in the config's words."""
        return attrs

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
            if change is not None and current.attrs.get("status", "active") != "active" and not change.irreversible:
                left_alone[current.attrs["status"]].append(current.key)
            elif change is not None:
                result.changes.append(change)
        result.notes.extend(self._left_alone_notes(left_alone))
        return result

    def compare(self, entry: Entry, live: LiveResource, ctx: DiffContext, result: KindDiff) -> Change | None:
        wanted = desired_view(self, entry)
        current = project(self.config_view(live.attrs, ctx), wanted, self.model)
        if current == wanted:
            return None
        fields = tuple(field_changes(current, wanted))
        return Change(self.name, live.key, Action.UPDATE, current, wanted, fields, "", live.id, entry.prevent_destroy)

    def _left_alone_notes(self, left_alone: dict[str, list[str]]) -> list[str]:
        notes = []
        for status, numbers in sorted(left_alone.items()):
            why = LEAVING.get(status, NOT_READY)
            shown = ", ".join(numbers[:SHOWN_PER_NOTE])
            if len(numbers) > SHOWN_PER_NOTE:
                shown += f" and {len(numbers) - SHOWN_PER_NOTE} more"
            notes.append(f"{len(numbers)} {self.title}(s) differ from the config but are {status}, so they are left "
                         f"alone ({why}): {shown}")
        return notes
