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
