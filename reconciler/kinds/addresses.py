"""Addresses (used, among others, as emergency addresses). Key: `name`, kept on the live address as
`customer_reference`: an address without one is not the tool's and is left alone. The API has no update
call, so any change is a replace; the new address is created before the old one is deleted so that
whatever points at it can move over first. Before a plan creates one, it asks the API to validate it
(address_checks.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from reconciler.api import Api
from reconciler.compare import project
from reconciler.kinds.address_checks import Candidate, check
from reconciler.kinds.base import Kind, KindDiff
from reconciler.plan import Action
from reconciler.states import Entry, LiveResource

if TYPE_CHECKING:
    from reconciler.states import DesiredState

ADDRESS_FIELDS = (
    "first_name",
    "last_name",
    "business_name",
    "street_address",
    "extended_address",
    "locality",
    "administrative_area",
    "neighborhood",
    "borough",
    "postal_code",
    "country_code",
    "phone_number",
    "address_book",
    "validate_address",
)


class Address(Entry):
    name: str = Field(min_length=1, description="Unique name; stored on the address as customer_reference.")
    # Required to create an address (`create_required` below), not to adopt one that exists.
    first_name: str | None = None
    last_name: str | None = None
    business_name: str | None = None
    street_address: str | None = None
    extended_address: str | None = None
    locality: str | None = Field(default=None, description="City or town.")
    administrative_area: str | None = Field(default=None, description="State, province or region.")
    neighborhood: str | None = None
    borough: str | None = None
    postal_code: str | None = None
    country_code: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. US.")
    phone_number: str | None = None
    address_book: bool | None = None
    validate_address: bool | None = None


class Addresses(Kind):
    name = "addresses"
    title = "address"
    model = Address
    key_field = "name"
    path = "/addresses"
    create_required = ("first_name", "last_name", "business_name", "street_address", "locality", "country_code")
    immutable = None
    replace_action = Action.CREATE_BEFORE_DELETE
    replace_reason = "addresses cannot be updated through the API"

    def from_api(self, raw: dict[str, Any]) -> LiveResource | None:
        key = raw.get("customer_reference")
        if not key:
            return None
        attrs = {"name": key, **{f: raw.get(f) for f in ADDRESS_FIELDS}}
        return LiveResource(key=key, id=str(raw["id"]), attrs=attrs, created_at=raw.get("created_at", ""))

    def to_api(self, values: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in values.items() if k != "name"}
        body["customer_reference"] = values["name"]
        return body

    def lookup_params(self, key: str) -> dict[str, Any]:
        return {"filter[customer_reference][eq]": key}

    def confirm(self, api: Api, entries: list[Entry], live: list[LiveResource], desired: DesiredState) -> KindDiff:
        """Every address the plan would create (new, or replacing one) is validated by the API first."""
        result = KindDiff()
        for entry in entries:
            if not self._exists(entry, live):
                check(api, self._candidate(entry, desired), result)
        return result

    def _exists(self, entry: Entry, live: list[LiveResource]) -> bool:
        wanted = self.desired_view(entry)
        return any(r.key == self.key_of(entry) and project(r.attrs, wanted, self.model) == wanted for r in live)

    def _candidate(self, entry: Entry, desired: DesiredState) -> Candidate:
        key = self.key_of(entry)
        source = desired.sources.get((self.name, key))
        line, column = source.doc.locate(source.loc) if source is not None and source.doc is not None else (None, None)
        users = [str(getattr(n, "phone_number", "")) for n in desired.entries.get("phone_numbers", [])
                 if _emergency_address(n) == key]
        return Candidate(key, entry.managed(), source.file if source else self.name, line, column, users)


def _emergency_address(number: Entry) -> str | None:
    """The address a number's entry names for emergency services, when it enables them."""
    emergency = getattr(number, "emergency", None)
    return emergency.address if emergency is not None and emergency.enabled else None
