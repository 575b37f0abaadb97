"""Helpers for the sandbox tests: fixed inputs, a hand-driven clock, and an httpx client that
checks every response against the spec as it arrives (a violation fails the test at once)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from openapi_schema_validator import OAS31Validator

from reconciler.sandbox import Sandbox
from reconciler.sandbox.spec import GENERIC_ERRORS, load_spec, validate_response

KEY = "sandbox-key"
BASE = "http://sandbox.local/v2"
START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)

ADDRESS: dict[str, Any] = {
    "first_name": "Alfred",
    "last_name": "Foster",
    "business_name": "Toy-O'Kon",
    "street_address": "600 Congress Avenue",
    "locality": "Austin",
    "administrative_area": "TX",
    "postal_code": "78701",
    "country_code": "US",
    "customer_reference": "HQ-001",
}

SETTINGS: dict[str, Any] = {
    "idp_entity_id": "https://myorg.myidp.com/saml/metadata",
    "idp_sso_target_url": "https://myorg.myidp.com/trust/saml2/http-post/sso",
    "idp_cert_fingerprint": "13:38:C7:BB:C9:FF:4A:70:38:3A:E3:D9:5C:CD:DB:2E:50:1E:80:A7",
}

PROVIDER: dict[str, Any] = {"name": "Okta", "short_name": "myorg", "settings": SETTINGS}


class Clock:
    """A clock the test moves by hand, so timestamps are predictable."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class ContractViolation(AssertionError):
    pass


def check_against_spec(response: httpx.Response) -> None:
    response.read()
    method, path = response.request.method, response.request.url.path
    if load_spec().find(method, path) is None:
        # No operation to hold it to: it must be a refusal in the generic Telnyx error shape.
        problems = [] if response.status_code in (404, 405) else [f"{method} {path} answered {response.status_code}"]
        problems += [e.message for e in OAS31Validator(GENERIC_ERRORS).iter_errors(response.json())]
    else:
        problems = validate_response(method, path, response.status_code, response.content)
    if problems:
        raise ContractViolation("\n".join(problems))


def client_for(sandbox: Sandbox, key: str | None = KEY, **kwargs: Any) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.Client(transport=sandbox.transport(), base_url=BASE, headers=headers,
                        event_hooks={"response": [check_against_spec]}, **kwargs)


def errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    body = response.json()
    assert isinstance(body.get("errors"), list) and body["errors"], body
    return list(body["errors"])


def codes(response: httpx.Response) -> list[str]:
    """Codes as strings, whichever type the area's envelope uses."""
    return [str(e["code"]) for e in errors_of(response)]


def pointers(response: httpx.Response) -> list[str | None]:
    return [e.get("source", {}).get("pointer") for e in errors_of(response)]


# -- a small account with phone numbers ------------------------------------------------------
GROUP_ID = "f5586561-8ff0-4291-a0ac-84fe544797bd"
HQ_ID = "1315261609962112019"
LAB_ID = "1315261609962112020"
PROFILE_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
SALES = "1000000000000000001"     # +13125550001, active, tagged, in the billing group, has an external PIN
E911 = "1000000000000000002"      # +13125550002, emergency enabled at HQ
TOLL_FREE = "1000000000000000003"  # +18335550003
PORTING = "1000000000000000004"   # +13125550004, port-out-pending
LOCKED = "1000000000000000005"    # +13125550005, deletion-locked
MOBILE = "1100000000000000001"    # +19175550100
NUMBERS = {SALES: "+13125550001", E911: "+13125550002", TOLL_FREE: "+18335550003", PORTING: "+13125550004",
           LOCKED: "+13125550005"}


def account_seed() -> dict[str, Any]:
    """Numbers created an hour apart in id order, so the newest-first order is LOCKED ... SALES."""
    def at(hour: int) -> str:
        return f"2024-01-01T{hour:02d}:00:00.000Z"

    return {
        "billing_groups": [{"id": GROUP_ID, "name": "Ops"}],
        "addresses": [{**ADDRESS, "id": HQ_ID},
                      {**ADDRESS, "id": LAB_ID, "customer_reference": "LAB-7", "street_address": "1 Lab Road"}],
        "phone_numbers": [
            {"id": SALES, "phone_number": NUMBERS[SALES], "tags": ["sales"], "connection_id": "1494404757140276705",
             "connection_name": "sip-trunk-primary", "billing_group_id": GROUP_ID, "external_pin": "4321",
             "messaging_profile_id": PROFILE_ID, "customer_reference": "acct-1", "created_at": at(1)},
            {"id": E911, "phone_number": NUMBERS[E911], "emergency_enabled": True, "emergency_address_id": HQ_ID,
             "connection_id": "1494404757140276706", "connection_name": "backup-trunk", "created_at": at(2)},
            {"id": TOLL_FREE, "phone_number": NUMBERS[TOLL_FREE], "tags": ["support"], "created_at": at(3),
             "usage_payment_method": "channel"},
            {"id": PORTING, "phone_number": NUMBERS[PORTING], "status": "port-out-pending", "created_at": at(4)},
            {"id": LOCKED, "phone_number": NUMBERS[LOCKED], "deletion_lock_enabled": True, "tags": ["sales", "vip"],
             "created_at": at(5)},
        ],
        "mobile_phone_numbers": [
            {"id": MOBILE, "phone_number": "+19175550100", "sim_card_id": "6a09cff1-059b-4dc1-9d4e-0e8e1f0b0c1b",
             "tags": ["field"], "created_at": at(1)},
            {"id": "1100000000000000002", "phone_number": "+19175550101", "created_at": at(2)},
        ],
    }
