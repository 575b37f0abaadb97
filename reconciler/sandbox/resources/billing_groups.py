"""Billing groups: `/billing_groups` and `/billing_groups/{id}` (list, create, get, update, delete).

UUID ids. Names need not be unique. A deleted group is answered with `deleted_at` set.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..store import Record, State
from .base import Call, Collection, Handler, Reply, pick


class BillingGroups(Collection):
    name = "billing_groups"
    label = "Billing group"
    id_kind = "uuid"
    schema = "/components/schemas/BillingGroup"

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("GET", "/billing_groups"): self.list_all,
            ("POST", "/billing_groups"): self.post,
            ("GET", "/billing_groups/{id}"): self.retrieve,
            ("PATCH", "/billing_groups/{id}"): self.patch,
            ("DELETE", "/billing_groups/{id}"): self.remove,
        }

    def create(self, state: State, fields: Mapping[str, Any]) -> Record:
        record: Record = {
            **self.server_fields(state, fields),
            "record_type": "billing_group",
            "organization_id": state.organization_id,
            "deleted_at": None,
        }
        record.update(fields)
        return state.insert(self.name, record)

    def list_all(self, call: Call) -> Reply:
        return self.page(call.state, call.state.all(self.name), call.query)

    def post(self, call: Call) -> Reply:
        return self.reply(call.state, self.create(call.state, pick(call.fields, ["name"])))

    def patch(self, call: Call) -> Reply:
        record = self.fetch(call)
        updated = call.state.update(self.name, record["id"], pick(call.fields, ["name"]))
        return self.reply(call.state, updated)

    def remove(self, call: Call) -> Reply:
        record = self.fetch(call)
        call.state.delete(self.name, record["id"])
        return self.reply(call.state, {**record, "deleted_at": call.state.now()})
