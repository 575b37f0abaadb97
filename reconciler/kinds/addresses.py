"""Addresses (used, among others, as emergency addresses). Key: `name`, kept on the live address as
`customer_reference`: an address without one is not the tool's and is left alone. The API has no update
call, so any change is a replace; the new address is created before the old one is deleted so that
whatever points at it can move over first."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from reconciler.kinds.base import Entry, Kind, LiveResource, ReplaceOrder

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
    first_name: str
    last_name: str
    business_name: str
    street_address: str
    extended_address: str | None = None
    locality: str = Field(description="City or town.")
    administrative_area: str | None = Field(default=None, description="State, province or region.")
    neighborhood: str | None = None
    borough: str | None = None
    postal_code: str | None = None
    country_code: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. US.")
    phone_number: str | None = None
    address_book: bool | None = None
    validate_address: bool | None = None


class Addresses(Kind):
    name = "addresses"
    title = "address"
    model = Address
    key_field = "name"
    path = "/addresses"
    immutable = None
    replace_order = ReplaceOrder.CREATE_FIRST
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
