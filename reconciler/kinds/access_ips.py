"""Access IP addresses: the account's API allow-list. Key: `ip_address`. The API has no update call, so a
changed description is a replace; the address is unique in the account, so the old entry goes first."""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import Field, field_validator

from reconciler.kinds.base import Entry, Kind, LiveResource, ReplaceOrder


def canonical_ip(value: str) -> str:
    return str(ipaddress.ip_address(value.strip()))


class AccessIp(Entry):
    ip_address: str = Field(description="An IPv4 or IPv6 address, e.g. 203.0.113.10.")
    description: str | None = Field(default=None, description="Free text shown in the portal.")

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
    immutable = None
    replace_order = ReplaceOrder.DELETE_FIRST
    replace_reason = "access IP addresses cannot be updated through the API"

    def from_api(self, raw: dict[str, Any]) -> LiveResource | None:
        key = canonical_ip(raw["ip_address"])
        attrs = {"ip_address": key, "description": raw.get("description")}
        return LiveResource(key=key, id=raw["id"], attrs=attrs, created_at=raw.get("created_at", ""))

    def lookup_params(self, key: str) -> dict[str, Any]:
        return {"filter[ip_address]": key}
