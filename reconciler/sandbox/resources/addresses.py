"""Addresses: `/addresses` and `/addresses/{id}` (list, create, get, delete; no update exists), and the
actions `validate` and `accept_suggestions` (see `address_validation`).

Numeric string ids. Creation fills what the service fills: `record_type: address`,
`address_book` and `validate_address` (both default true), timestamps. Deleting an address that
is in use (for example as a phone number's emergency address) fails with 10021; "in use" is asked
of the state, which combines explicit marks with references declared by other collections.
Accepting suggestions (assumed behaviour) writes the suggested values onto the address and answers 202;
asked again, or for an address with nothing to change, it answers 200 (`accepted` true once accepted).
"""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import bad_value, in_use
from ..store import Record, State
from . import address_validation
from .base import Call, Collection, Handler, Reply, flag, pick, sort_records

CREATE_FIELDS = (
    "address_book", "administrative_area", "borough", "business_name", "country_code",
    "customer_reference", "extended_address", "first_name", "last_name", "locality",
    "neighborhood", "phone_number", "postal_code", "street_address", "validate_address",
)


def _contains(haystack: Any, needle: str) -> bool:
    return isinstance(haystack, str) and needle.casefold() in haystack.casefold()


class Addresses(Collection):
    name = "addresses"
    label = "Address"
    id_kind = "numeric"
    schema = "/components/schemas/Address"

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("GET", "/addresses"): self.list_all,
            ("POST", "/addresses"): self.post,
            ("GET", "/addresses/{id}"): self.retrieve,
            ("DELETE", "/addresses/{id}"): self.remove,
            ("POST", "/addresses/actions/validate"): self.validate,
            ("POST", "/addresses/{id}/actions/accept_suggestions"): self.accept_suggestions,
        }

    def render(self, state: State, record: Record) -> dict[str, Any]:
        return {k: v for k, v in record.items() if not k.startswith("_")}  # "_" marks what only the sandbox keeps

    def validate(self, call: Call) -> Reply:
        return 200, {"data": address_validation.validate(call.fields)}

    def accept_suggestions(self, call: Call) -> Reply:
        record = self.fetch(call)
        changes = address_validation.suggestions(record)
        if changes:
            call.state.update(self.name, record["id"], {**changes, "_suggestions_accepted": True})
        accepted = bool(changes) or bool(record.get("_suggestions_accepted"))
        body = {"data": {"accepted": accepted, "id": record["id"], "record_type": "address_suggestion"}}
        return (202 if changes else 200), body

    def create(self, state: State, fields: Mapping[str, Any]) -> Record:
        record: Record = {
            **self.server_fields(state, fields),
            "record_type": "address",
            "address_book": True,
            "validate_address": True,
        }
        record.update(fields)
        return state.insert(self.name, record)

    def post(self, call: Call) -> Reply:
        return self.reply(call.state, self.create(call.state, pick(call.fields, CREATE_FIELDS)))

    def remove(self, call: Call) -> Reply:
        record = self.fetch(call)
        if call.state.users_of(self.name, record["id"]):
            raise in_use(f"Address '{record['id']}' is in use as an emergency address and cannot be deleted.")
        call.state.delete(self.name, record["id"])
        return self.reply(call.state, record)

    def list_all(self, call: Call) -> Reply:
        wanted = call.query.get("filter") or {}
        tests = self._filters(call.state, wanted)
        records = [r for r in call.state.all(self.name) if all(test(r) for test in tests)]
        # The spec's `sort` default is `created_at`, but its text says that without a sort the
        # newest come first; both are honoured: explicit `created_at` is ascending.
        order = str(call.query["sort"]) if "sort" in call.given else "-created_at"
        return self.page(call.state, sort_records(records, order), call.query)

    def _filters(self, state: State, wanted: Mapping[str, Any]) -> list[Any]:
        tests: list[Any] = []
        reference = wanted.get("customer_reference")
        if isinstance(reference, str):
            tests.append(lambda r: _contains(r.get("customer_reference"), reference))
        elif isinstance(reference, Mapping):
            if "eq" in reference:
                tests.append(lambda r: r.get("customer_reference") == reference["eq"])
            if "contains" in reference:
                tests.append(lambda r: _contains(r.get("customer_reference"), reference["contains"]))
        street = (wanted.get("street_address") or {}).get("contains")
        if street is not None:
            if len(street) < 3:
                raise bad_value("The 'filter[street_address][contains]' parameter requires at least three "
                                "characters.", parameter="filter[street_address][contains]")
            tests.append(lambda r: _contains(r.get("street_address"), street))
        book = (wanted.get("address_book") or {}).get("eq")
        if book is not None:
            expected = flag(book, "filter[address_book][eq]")
            tests.append(lambda r: r.get("address_book", True) == expected)
        if "used_as_emergency" in wanted:
            used = flag(wanted["used_as_emergency"], "filter[used_as_emergency]")
            tests.append(lambda r: bool(state.users_of(self.name, r["id"])) == used)
        return tests
