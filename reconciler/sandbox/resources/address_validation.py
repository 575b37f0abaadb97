"""Address validation in the sandbox: `POST /addresses/actions/validate` and the suggestions an address
can accept (`POST /addresses/{id}/actions/accept_suggestions`).

The real service checks addresses against postal data the sandbox does not have. The sandbox is
deterministic instead (assumed behaviour, not documented): it knows a few postal codes, each with its
locality and administrative area; an address whose postal code it knows but whose locality or area does
not match is `invalid`, and `suggested` carries the known values. Any other address is `valid`, and
`suggested` echoes what was sent. Validation answers no `errors`: which codes the service uses there is
not documented.
"""

from __future__ import annotations

from typing import Any, Mapping

# (country, postal code) -> (locality, administrative area)
KNOWN_POSTAL_CODES: dict[tuple[str, str], tuple[str, str]] = {
    ("US", "78701"): ("Austin", "TX"),
    ("US", "78664"): ("Round Rock", "TX"),
    ("US", "60601"): ("Chicago", "IL"),
    ("US", "98101"): ("Seattle", "WA"),
    ("US", "94105"): ("San Francisco", "CA"),
    ("US", "22202"): ("Arlington", "VA"),
}
FIELDS = ("street_address", "extended_address", "locality", "administrative_area", "postal_code", "country_code")


def validate(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A ValidateAddressResult for these address fields."""
    given = {name: fields[name] for name in FIELDS if fields.get(name) is not None}
    known = KNOWN_POSTAL_CODES.get((str(given.get("country_code", "")).upper(), str(given.get("postal_code", ""))))
    if known is None:
        return {"record_type": "address_validation", "result": "valid", "suggested": given}
    locality, area = known
    suggested = {**given, "locality": locality, "administrative_area": area}
    matches = _same(given.get("locality"), locality) and _same(given.get("administrative_area"), area)
    return {"record_type": "address_validation", "result": "valid" if matches else "invalid", "suggested": suggested}


def suggestions(record: Mapping[str, Any]) -> dict[str, Any]:
    """The values validation would change on a stored address (none when it is valid)."""
    checked = validate(record)
    if checked["result"] == "valid":
        return {}
    return {k: v for k, v in checked["suggested"].items() if record.get(k) != v}


def _same(given: Any, known: str) -> bool:
    return isinstance(given, str) and given.strip().casefold() == known.casefold()
