"""The official `telnyx` SDK as an independent client: if it cannot parse what the sandbox
answers, the sandbox is wrong. Strict response validation is on throughout."""

from __future__ import annotations

from typing import Any, Callable, Iterator, cast

import httpx
import pydantic
import pytest
import telnyx
from sandbox_support import ADDRESS, KEY, SETTINGS, Clock, check_against_spec
from test_sandbox_portouts import PENDING, STALE, portout_seed
from telnyx.types.settings_param import SettingsParam

from reconciler.sandbox import Sandbox, generate_account
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


# -- phone numbers, jobs and mobile numbers ------------------------------------------------

@pytest.fixture
def numbered(clock: Clock) -> Sandbox:
    return Sandbox(clock=clock, seed=generate_account(60, seed=3, mobile=3), job_seconds=2)


def test_phone_numbers_through_the_sdk(numbered: Sandbox) -> None:
    with sdk_client(numbered) as sdk:
        listed = list(sdk.phone_numbers.list(page_size=25))  # auto-paginates over 3 pages
        assert len(listed) == 60 and len({n.id for n in listed}) == 60
        assert listed[0].created_at and listed[-1].created_at and listed[0].created_at > listed[-1].created_at
        assert all(n.external_pin is None for n in listed)
        tagged = list(sdk.phone_numbers.list(filter={"tag": "sales", "status": "active"}, page_size=5))
        assert tagged and all("sales" in n.tags for n in tagged)
        active = next(n for n in listed if n.status == "active" and n.phone_number_type == "local")
        detail = sdk.phone_numbers.retrieve(active.id).data
        assert detail is not None and detail.phone_number == active.phone_number
        updated = sdk.phone_numbers.update(active.id, tags=["sdk"], customer_reference="via-sdk").data
        assert updated is not None and updated.tags == ["sdk"] and updated.customer_reference == "via-sdk"
        voice = sdk.phone_numbers.voice.retrieve(active.id).data
        assert voice is not None and voice.emergency is not None
        assert voice.emergency.emergency_enabled == detail.emergency_enabled
        changed = sdk.phone_numbers.voice.update(active.id, usage_payment_method="channel").data
        assert changed is not None and changed.usage_payment_method == "channel"
        assert len(list(sdk.phone_numbers.voice.list(page_size=50))) == 60
        messaging = sdk.phone_numbers.messaging.retrieve(active.id).data
        assert messaging is not None and messaging.phone_number == active.phone_number
        assert len(list(sdk.phone_numbers.messaging.list(page_size=50))) == 60
        slim = list(sdk.phone_numbers.slim_list(include_tags=True, page_size=50))
        assert len(slim) == 60
        owned = sdk.phone_numbers.actions.verify_ownership(phone_numbers=[active.phone_number or ""]).data
        assert owned is not None and owned.found and owned.found[0].id == active.id


def test_jobs_through_the_sdk(numbered: Sandbox, clock: Clock) -> None:
    with sdk_client(numbered) as sdk:
        active = [n for n in sdk.phone_numbers.list(filter={"status": "active"}, page_size=10)
                  if not n.deletion_lock_enabled][:4]
        update = sdk.phone_numbers.jobs.update_batch(phone_numbers=[n.id for n in active[:3]], tags=["batch"]).data
        assert update is not None and update.status == "pending" and update.id
        delete = sdk.phone_numbers.jobs.delete_batch(phone_numbers=[active[3].phone_number or ""]).data
        assert delete is not None and delete.type == "delete_phone_numbers"
        address = numbered.state.all("addresses")[0]["id"]
        emergency = sdk.phone_numbers.jobs.update_emergency_settings_batch(
            phone_numbers=[active[0].id], emergency_enabled=True, emergency_address_id=address).data
        assert emergency is not None and emergency.status == "pending"
        assert [j.id for j in sdk.phone_numbers.jobs.list()] == [emergency.id, delete.id, update.id]
        clock.advance(10)
        done = sdk.phone_numbers.jobs.retrieve(update.id).data
        assert done is not None and done.status == "completed" and done.successful_operations
        assert len(done.successful_operations) == 3 and not done.pending_operations
        assert sdk.phone_numbers.retrieve(active[0].id).data.tags == ["batch"]  # type: ignore[union-attr]
        with pytest.raises(telnyx.NotFoundError):
            sdk.phone_numbers.retrieve(active[3].id)
        voice = sdk.phone_numbers.voice.retrieve(active[0].id).data
        assert voice is not None and voice.emergency is not None and voice.emergency.emergency_address_id == address
        enabled = sdk.phone_numbers.actions.enable_emergency(active[1].id, emergency_enabled=True,
                                                             emergency_address_id=address).data
        assert enabled is not None and enabled.emergency is not None
        assert enabled.emergency.emergency_status == "provisioning"
        order = sdk.messaging_numbers_bulk_updates.create(
            messaging_profile_id="dd50eba1-a0c0-4563-9925-b25e842a7cb6", numbers=[active[0].phone_number or ""],
            assign_only=True).data
        assert order is not None and order.order_id and order.pending == [active[0].phone_number]
        clock.advance(10)
        finished = sdk.messaging_numbers_bulk_updates.retrieve(order.order_id).data
        assert finished is not None and finished.success == [active[0].phone_number]
        with pytest.raises(telnyx.UnprocessableEntityError):
            sdk.phone_numbers.jobs.update_batch(phone_numbers=[active[0].id])


def test_mobile_numbers_through_the_sdk(numbered: Sandbox) -> None:
    with sdk_client(numbered) as sdk:
        mobiles = list(sdk.mobile_phone_numbers.list(page_size=2))  # two pages
        assert len(mobiles) == 3 and all(m.record_type == "mobile_phone_number" for m in mobiles)
        first = mobiles[0]
        assert first.id
        updated = sdk.mobile_phone_numbers.update(first.id, tags=["fleet"], noise_suppression=True).data
        assert updated is not None and updated.tags == ["fleet"] and updated.noise_suppression == "both"
        fetched = sdk.mobile_phone_numbers.retrieve(first.id).data
        assert fetched is not None and fetched.tags == ["fleet"]
        messaging = sdk.mobile_phone_numbers.messaging.retrieve(first.id).data
        assert messaging is not None and messaging.phone_number == first.phone_number
        assert len(list(sdk.mobile_phone_numbers.messaging.list(page_size=2))) == 3


def extras(value: Any, where: str = "") -> list[str]:
    """Fields the SDK parsed but its models do not declare (they land in a model's extras)."""
    if isinstance(value, list):
        return [e for i, item in enumerate(value) for e in extras(item, f"{where}/{i}")]
    if not isinstance(value, pydantic.BaseModel):
        return []
    found = [f"{where}/{name}" for name in (value.model_extra or {})]
    return found + [e for name in type(value).model_fields for e in extras(getattr(value, name), f"{where}/{name}")]


def test_the_sdk_models_declare_every_field_of_numbers_jobs_and_bulk_updates(numbered: Sandbox, clock: Clock) -> None:
    """The SDK's own models agree with the spec on where a field is: `caller_id_name_enabled` on the detailed
    number and not its voice settings, no `tags` on a slim number, no `assign_only` on a bulk update."""
    with sdk_client(numbered) as sdk:
        number = next(n for n in sdk.phone_numbers.list(filter={"status": "active"}, page_size=5))
        voice = sdk.phone_numbers.voice.update(number.id, caller_id_name_enabled=True)
        detail = sdk.phone_numbers.retrieve(number.id)
        assert detail.data is not None and detail.data.caller_id_name_enabled is True
        job = sdk.phone_numbers.jobs.update_batch(phone_numbers=[number.id], voice={"caller_id_name_enabled": False})
        order = sdk.messaging_numbers_bulk_updates.create(
            messaging_profile_id="", numbers=[number.phone_number or ""], assign_only=True)
        clock.advance(10)
        answers: list[Any] = [
            list(sdk.phone_numbers.list(page_size=250)), detail, voice, sdk.phone_numbers.voice.retrieve(number.id),
            list(sdk.phone_numbers.voice.list(page_size=250)),
            list(sdk.phone_numbers.slim_list(include_tags=True, include_connection=True, page_size=250)),
            sdk.phone_numbers.messaging.retrieve(number.id), list(sdk.phone_numbers.messaging.list(page_size=250)),
            job, sdk.phone_numbers.jobs.retrieve(job.data.id if job.data else ""), list(sdk.phone_numbers.jobs.list()),
            order, sdk.messaging_numbers_bulk_updates.retrieve(order.data.order_id if order.data else ""),
            list(sdk.mobile_phone_numbers.list(page_size=250)), list(sdk.mobile_phone_numbers.messaging.list()),
        ]
        assert [e for i, answer in enumerate(answers) for e in extras(answer, f"[{i}]")] == []
        assert sdk.phone_numbers.retrieve(number.id).data.caller_id_name_enabled is False  # type: ignore[union-attr]


# -- integration secrets and port-outs -----------------------------------------------------

def portout_sdk(sandbox: Sandbox) -> telnyx.Telnyx:
    """Like `sdk_client`, holding events to PortoutEvent's discriminator (see test_sandbox_portouts)."""
    http = httpx.Client(transport=sandbox.transport(),
                        event_hooks={"request": [sdk_requests_conform], "response": [check_against_spec]})
    return telnyx.Telnyx(api_key=KEY, base_url=BASE, http_client=http, max_retries=0,
                         _strict_response_validation=True)


def test_integration_secrets_through_the_sdk(client: telnyx.Telnyx) -> None:
    bearer = client.integration_secrets.create(identifier="crm", type="bearer", token="tok-sdk-1").data
    assert bearer.identifier == "crm" and bearer.record_type == "integration_secret" and bearer.created_at.year == 2024
    client.integration_secrets.create(identifier="erp", type="basic", username="u", password="p")
    assert [s.identifier for s in client.integration_secrets.list(page_size=1)] == ["crm", "erp"]
    assert [s.identifier for s in client.integration_secrets.list(filter={"type": "basic"})] == ["erp"]
    assert client.integration_secrets.delete(bearer.id) is None
    with pytest.raises(telnyx.NotFoundError):
        client.integration_secrets.delete(bearer.id)
    with pytest.raises(telnyx.UnprocessableEntityError) as missing:
        client.integration_secrets.create(identifier="x", type="bearer")
    assert missing.value.body["errors"][0]["source"]["pointer"] == "/token"  # type: ignore[index]


def test_portouts_through_the_sdk(clock: Clock) -> None:
    with portout_sdk(Sandbox(clock=clock, seed=portout_seed())) as sdk:
        pending = list(sdk.portouts.list(filter={"status": "pending"}))
        assert [p.id for p in pending] == [PENDING] and pending[0].phone_numbers == ["+13125550004", "+13125550006"]
        assert len(list(sdk.portouts.list(page_size=1))) == 4
        order = sdk.portouts.retrieve(PENDING).data
        assert order is not None and order.carrier_name == "Acme Wireless" and order.status == "pending"
        rejections = sdk.portouts.list_rejection_codes(PENDING, filter={"code": [1002, 1099]}).data
        assert rejections is not None and [(r.code, r.reason_required) for r in rejections] == [(1002, False),
                                                                                               (1099, True)]
        comment = sdk.portouts.comments.create(PENDING, body="Checking with the customer").data
        assert comment is not None and comment.portout_id == PENDING
        assert [c.body for c in sdk.portouts.comments.list(PENDING).data or []][-1] == "Checking with the customer"
        documents = sdk.portouts.supporting_documents.list(PENDING).data
        assert documents is not None and documents[0].type == "loa"
        updated = sdk.portouts.update_status("authorized", id=PENDING, reason="Verified").data
        assert updated is not None and updated.status == "authorized" and updated.reason == "Verified"
        with pytest.raises(telnyx.UnprocessableEntityError):
            sdk.portouts.update_status("rejected-pending", id=PENDING, reason="Too late")

        clock.advance(1)
        listed = list(sdk.portouts.events.list(filter={"portout_id": PENDING}))
        assert {e.event_type for e in listed} == {"portout.new_comment", "portout.status_changed",
                                                  "portout.foc_date_changed"}
        assert all(e.payload_status == "completed" and e.payload is not None for e in listed)
        stale = list(sdk.portouts.events.list(filter={"portout_id": STALE, "event_type": "portout.status_changed"}))
        event = sdk.portouts.events.retrieve(stale[0].id or "").data
        assert event is not None and event.payload is not None
        assert sdk.portouts.events.republish(stale[0].id or "") is None
        assert len(list(sdk.portouts.events.list())) == len(listed) + 3  # the stale order's three

        report = sdk.portouts.reports.create(report_type="export_portouts_csv",
                                             params={"filters": {"status__in": ["authorized"]}}).data
        assert report is not None and report.status == "pending" and report.id
        clock.advance(1)
        done = sdk.portouts.reports.retrieve(report.id).data
        assert done is not None and done.status == "completed" and done.document_id
        assert [r.id for r in sdk.portouts.reports.list(filter={"status": "completed"})] == [report.id]
