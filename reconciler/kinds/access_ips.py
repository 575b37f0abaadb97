"""Access IP addresses: the account's API allow-list. Key: `ip_address`.

The API has no update call, and the address is unique in the account, so a replace deletes the old entry
before it creates the new one. Deleting an allow-listed address cuts off whoever sends requests from it,
this tool included when it runs there (a CI runner behind a fixed egress). So a description that differs
is only noted unless the entry asks for the replace (`replace: true`), every delete says what it can cut
off, and a plan that would delete every address on the list is refused: while the list is in force, the
address this tool runs from is one of them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from pydantic import Field, field_validator

from reconciler.kinds.base import DiffContext, Kind, KindDiff
from reconciler.plan import Action, Change
from reconciler.states import Entry, LiveResource

CUT_OFF = ("deleting an allow-listed address cuts off API access for whoever sends requests from it, "
           "this tool included if it runs there")


def canonical_ip(value: str) -> str:
    return str(ipaddress.ip_address(value.strip()))


class AccessIp(Entry):
    ip_address: str = Field(description="An IPv4 or IPv6 address, e.g. 203.0.113.10.")
    description: str | None = Field(default=None, description="Free text shown in the portal.")
    replace: bool = Field(
        default=False,
        description="Replace the entry (delete, then create) when its description differs. Without it, a "
        "differing description is only noted: the API cannot update it, and the delete can cut off access.",
    )

    @field_validator("ip_address")
    @classmethod
    def _valid_ip(cls, value: str) -> str:
        try:
            return canonical_ip(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a valid IPv4 or IPv6 address") from None


class AccessIps(Kind):
    name = "access_ips"
    title = "access IP address"
    model = AccessIp
    key_field = "ip_address"
    path = "/access_ip_address"
    create_required = ("ip_address",)
    immutable = None
    control_fields = frozenset({"replace"})
    replace_action = Action.DELETE_BEFORE_CREATE
    replace_reason = "access IP addresses cannot be updated through the API; the old entry is deleted first"

    def from_api(self, raw: dict[str, Any]) -> LiveResource | None:
        key = canonical_ip(raw["ip_address"])
        attrs = {"ip_address": key, "description": raw.get("description")}
        return LiveResource(key=key, id=raw["id"], attrs=attrs, created_at=raw.get("created_at", ""))

    def lookup_params(self, key: str) -> dict[str, Any]:
        return {"filter[ip_address]": key}

    def review(self, result: KindDiff, entries: list[Entry], live: list[LiveResource], ctx: DiffContext) -> None:
        asked = {self.key_of(e) for e in entries if isinstance(e, AccessIp) and e.replace}
        kept: list[Change] = []
        for change in result.changes:
            if change.action.replaces and change.key not in asked and _description_only(change):
                where = ctx.source(self.name, change.key)
                result.notes.append(f"{where or self.name}: {change.address}: description differs; the API cannot "
                                    "update it; set `replace: true` on the entry to replace it")
                continue
            if change.action.destroys:
                change = replace(change, reason=f"{change.reason}; {CUT_OFF}" if change.reason else CUT_OFF)
            kept.append(change)
        result.changes = kept
        deleted = {c.live_id for c in kept if c.action is Action.DELETE}
        if live and deleted >= {r.id for r in live}:
            result.errors.append(
                f"the plan would delete every address on the API allow-list ({len(live)}): while the list is in "
                "force, the address this tool runs from is one of them, so the delete would lock it, and every "
                "client that uses them, out of the account. List the addresses to keep under `access_ips:`, or "
                "take access_ips out of reconciler.prune")


def _description_only(change: Change) -> bool:
    return {f.path for f in change.fields} == {"description"}
