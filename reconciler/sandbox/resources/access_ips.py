"""Access IP addresses: `/access_ip_address` and `/access_ip_address/{access_ip_address_id}`.

List (with `filter[ip_address]`, `filter[ip_source]`, `filter[created_at]` exact or
`[gt|gte|lt|lte]`), create, get and delete; the spec has no update. One address may be listed
once (10012 on a duplicate); it must be a single IPv4 or IPv6 address. A new entry is `pending`
until it has been synced to the edge, which the sandbox reports `SYNC_SECONDS` after creation.
Entries created through the API have `source: api`. Unlike most areas, single-resource responses
are the bare object (no `data` wrapper), as the spec and the official SDK have it.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from typing import Any, Mapping

from ..errors import bad_value, duplicate
from ..store import Record, State, parse_timestamp
from .base import Call, Collection, Handler, Reply, pick

SYNC_SECONDS = 5
_COMPARE = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def _address(text: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(str(text).strip())
    except ValueError:
        raise bad_value(f"'{text}' is not a valid IPv4 or IPv6 address.", pointer="/ip_address") from None


class AccessIps(Collection):
    name = "access_ips"
    label = "Access IP address"
    id_kind = "uuid"
    schema = "/components/schemas/AccessIPAddressResponseSchema"
    id_param = "access_ip_address_id"
    wrap_single = False  # the spec answers create/get/delete with the bare resource, lists with `data`

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("GET", "/access_ip_address"): self.list_all,
            ("POST", "/access_ip_address"): self.post,
            ("GET", "/access_ip_address/{access_ip_address_id}"): self.retrieve,
            ("DELETE", "/access_ip_address/{access_ip_address_id}"): self.remove,
        }

    def create(self, state: State, fields: Mapping[str, Any]) -> Record:
        wanted = _address(fields.get("ip_address"))
        for other in state.all(self.name):
            if _address(other["ip_address"]) == wanted:
                raise duplicate("/ip_address", f"The IP address {fields['ip_address']} is already in the list.")
        record: Record = {
            **self.server_fields(state, fields),
            "source": "api",
            "status": "pending",
            "user_id": state.user_id,
        }
        record.update(fields)
        return state.insert(self.name, record)

    def render(self, state: State, record: Record) -> dict[str, Any]:
        if record.get("status") == "pending" and "created_at" in record:
            synced = parse_timestamp(record["created_at"]) + timedelta(seconds=SYNC_SECONDS)
            if state.now_datetime() >= synced:
                return {**record, "status": "added"}
        return record

    def list_all(self, call: Call) -> Reply:
        wanted = call.query.get("filter") or {}
        records = [r for r in call.state.all(self.name) if self._matches(r, wanted)]
        return self.page(call.state, records, call.query)

    def _matches(self, record: Record, wanted: Mapping[str, Any]) -> bool:
        if "ip_address" in wanted and str(record["ip_address"]) != str(wanted["ip_address"]):
            return False
        if "ip_source" in wanted and record.get("source") != wanted["ip_source"]:
            return False
        return "created_at" not in wanted or _created_matches(record, wanted["created_at"])

    def post(self, call: Call) -> Reply:
        return self.reply(call.state, self.create(call.state, pick(call.fields, ["ip_address", "description"])))

    def remove(self, call: Call) -> Reply:
        record = self.fetch(call)
        call.state.delete(self.name, record["id"])
        return self.reply(call.state, record)


def _created_matches(record: Record, condition: Any) -> bool:
    created: datetime = parse_timestamp(record["created_at"])
    if isinstance(condition, str):
        return created == parse_timestamp(condition)
    return all(_COMPARE[op](created, parse_timestamp(str(value)))
               for op, value in condition.items() if op in _COMPARE)
