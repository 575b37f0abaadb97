"""What the API requires in each create request, by collection path, as the create request schemas of the
vendored spec declare it (`required`, and `required` inside a required object, as a dotted path).

The table is copied from the spec rather than read from it at run time, so a plan never loads the spec;
tests/test_create_requirements.py derives it from the spec again and fails when the two differ.
"""

from __future__ import annotations

from typing import Any

CREATE_REQUIRED: dict[str, tuple[str, ...]] = {
    "/access_ip_address": ("ip_address",),
    "/addresses": ("first_name", "last_name", "business_name", "street_address", "locality", "country_code"),
    "/authentication_providers": ("name", "short_name", "settings", "settings.idp_entity_id",
                                  "settings.idp_sso_target_url", "settings.idp_cert_fingerprint"),
    "/billing_groups": (),
    "/integration_secrets": ("identifier", "type"),
}


def missing(path: str, body: dict[str, Any]) -> list[str]:
    """The required fields a create body for `path` lacks (a nested one only when its parent is given)."""
    absent: list[str] = []
    for dotted in CREATE_REQUIRED.get(path, ()):
        parent, _, name = dotted.rpartition(".")
        if parent and parent in absent:
            continue
        holder = _at(body, parent) if parent else body
        if isinstance(holder, dict) and holder.get(name) is None:
            absent.append(dotted)
    return absent


def _at(body: dict[str, Any], dotted: str) -> Any:
    value: Any = body
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
