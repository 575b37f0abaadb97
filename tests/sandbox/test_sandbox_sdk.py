"""The official `telnyx` SDK as an independent client: if it cannot parse what the sandbox
answers, the sandbox is wrong. Strict response validation is on throughout."""

from __future__ import annotations

from typing import Any, Callable, Iterator, cast

import httpx
import pytest
import telnyx
from sandbox_support import ADDRESS, KEY, SETTINGS, Clock, check_against_spec
from telnyx.types.settings_param import SettingsParam

from reconciler.sandbox import Sandbox
from reconciler.sandbox.spec import validate_request

IDP = cast(SettingsParam, SETTINGS)

BASE = "http://sandbox.local/v2"


def sdk_requests_conform(request: httpx.Request) -> None:
    """What the SDK sends must pass the sandbox's own request check: no false alarms."""
    problems = validate_request(request.method, request.url.path, request.url.query.decode(), request.read() or None)
    assert problems == [], problems


def sdk_client(sandbox: Sandbox, *, api_key: str = KEY, check_requests: bool = True) -> telnyx.Telnyx:
    hooks: dict[str, list[Callable[..., Any]]] = {
        "request": [sdk_requests_conform] if check_requests else [], "response": [check_against_spec]}
    http = httpx.Client(transport=sandbox.transport(), event_hooks=hooks)
    return telnyx.Telnyx(api_key=api_key, base_url=BASE, http_client=http, max_retries=0,
                         _strict_response_validation=True)


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[telnyx.Telnyx]:
    with sdk_client(sandbox) as sdk:
        yield sdk


def test_billing_groups_through_the_sdk(client: telnyx.Telnyx) -> None:
    created = client.billing_groups.create(name="Ops").data
    assert created is not None and created.name == "Ops" and created.record_type == "billing_group"
    assert created.created_at is not None and created.created_at.year == 2024
    for i in range(44):
        client.billing_groups.create(name=f"extra-{i}")
    names = [g.name for g in client.billing_groups.list(page_size=10)]  # auto-paginates over 5 pages
    assert len(names) == 45 and names[0] == "Ops"
    updated = client.billing_groups.update(created.id or "", name="Operations").data
    assert updated is not None and updated.name == "Operations"
    fetched = client.billing_groups.retrieve(created.id or "").data
    assert fetched is not None and fetched.name == "Operations"
    deleted = client.billing_groups.delete(created.id or "").data
    assert deleted is not None and deleted.id == created.id and deleted.deleted_at is not None
    with pytest.raises(telnyx.NotFoundError):
        client.billing_groups.retrieve(created.id or "")


def test_access_ip_addresses_through_the_sdk(client: telnyx.Telnyx, clock: Clock) -> None:
    created = client.access_ip_address.create(ip_address="203.0.113.7", description="office")
    assert created.ip_address == "203.0.113.7" and created.status == "pending" and created.description == "office"
    client.access_ip_address.create(ip_address="203.0.113.8")
    clock.advance(60)
    listed = list(client.access_ip_address.list(filter={"ip_address": "203.0.113.7"}))
    assert [(r.id, r.status) for r in listed] == [(created.id, "added")]
    assert len(list(client.access_ip_address.list(page_size=1))) == 2
    assert client.access_ip_address.retrieve(created.id).ip_address == "203.0.113.7"
    assert client.access_ip_address.delete(created.id).id == created.id
    with pytest.raises(telnyx.UnprocessableEntityError) as duplicate:
        client.access_ip_address.create(ip_address="203.0.113.8")
    assert duplicate.value.body["errors"][0]["code"] == "10012"  # type: ignore[index]


def test_addresses_through_the_sdk(client: telnyx.Telnyx, sandbox: Sandbox) -> None:
    created = client.addresses.create(**ADDRESS).data
    assert created is not None and created.id and created.id.isdigit()
    assert created.address_book is True and created.validate_address is True
    assert created.customer_reference == "HQ-001" and created.record_type == "address"
    other = client.addresses.create(**{**ADDRESS, "customer_reference": "LAB"}).data
    assert other is not None and other.id
    found = list(client.addresses.list(filter={"customer_reference": {"eq": "HQ-001"}}))
    assert [a.id for a in found] == [created.id]
    by_street = list(client.addresses.list(filter={"street_address": {"contains": "congress"}}, sort="created_at"))
    assert [a.id for a in by_street] == [created.id, other.id]
    assert client.addresses.retrieve(created.id).data.street_address == "600 Congress Avenue"  # type: ignore[union-attr]

    sandbox.state.mark_in_use("addresses", created.id, by="phone_numbers/1")
    with pytest.raises(telnyx.UnprocessableEntityError) as refused:
        client.addresses.delete(created.id)
    assert refused.value.body["errors"][0]["code"] == "10021"  # type: ignore[index]
    assert client.addresses.delete(other.id).data.id == other.id  # type: ignore[union-attr]


def test_authentication_providers_through_the_sdk(client: telnyx.Telnyx) -> None:
    created = client.authentication_providers.create(name="Okta", short_name="myorg", settings=IDP).data
    assert created is not None and created.settings is not None and created.id
    assert created.settings.idp_cert_fingerprint_algorithm == "sha1"
    assert created.settings.service_provider_login_url == "https://api.telnyx.com/sso/myorg"
    assert created.active is True and created.activated_at is not None and created.organization_id
    client.authentication_providers.create(name="Azure", short_name="azure", settings=IDP, active=False)
    assert [p.short_name for p in client.authentication_providers.list(sort="short_name")] == ["azure", "myorg"]
    updated = client.authentication_providers.update(
        created.id, name="Okta EU", settings={**IDP, "idp_cert_fingerprint_algorithm": "sha256"}).data
    assert updated is not None and updated.name == "Okta EU" and updated.settings is not None
    assert updated.settings.idp_cert_fingerprint_algorithm == "sha256"
    assert client.authentication_providers.retrieve(created.id).data.name == "Okta EU"  # type: ignore[union-attr]
    assert client.authentication_providers.delete(created.id).data.id == created.id  # type: ignore[union-attr]
    with pytest.raises(telnyx.NotFoundError):
        client.authentication_providers.retrieve(created.id)


def test_sdk_errors_map_to_its_exception_classes(clock: Clock) -> None:
    with sdk_client(Sandbox(clock=clock), api_key="wrong") as bad_key:
        with pytest.raises(telnyx.AuthenticationError):
            bad_key.billing_groups.list()
    limited = Sandbox(clock=clock, rate_limit=1)
    with sdk_client(limited) as sdk:
        sdk.billing_groups.list()
        with pytest.raises(telnyx.RateLimitError) as exc:
            sdk.billing_groups.list()
    assert int(exc.value.response.headers["retry-after"]) >= 1
    with sdk_client(Sandbox(clock=clock), check_requests=False) as sdk:
        with pytest.raises(telnyx.UnprocessableEntityError) as missing:
            sdk.authentication_providers.create(name="x", short_name="x", settings={"idp_entity_id": "https://e"})  # type: ignore[typeddict-item]
    assert {e["source"]["pointer"] for e in missing.value.body["errors"]} == {  # type: ignore[index]
        "/settings/idp_sso_target_url", "/settings/idp_cert_fingerprint"}
