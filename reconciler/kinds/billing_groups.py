"""Billing groups: named groups that phone numbers are billed under. Key: `name`."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from reconciler.kinds.base import Kind
from reconciler.states import Entry, LiveResource


class BillingGroup(Entry):
    name: str = Field(min_length=1, description="The billing group's name; unique in the config.")


class BillingGroups(Kind):
    name = "billing_groups"
    title = "billing group"
    model = BillingGroup
    key_field = "name"
    path = "/billing_groups"

    def from_api(self, raw: dict[str, Any]) -> LiveResource | None:
        if raw.get("deleted_at"):
            return None
        return LiveResource(
            key=raw["name"], id=raw["id"], attrs={"name": raw["name"]}, created_at=raw.get("created_at", "")
        )
