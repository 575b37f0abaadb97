"""The state API tests use to play "someone changed it in the portal", and what it guarantees."""

from __future__ import annotations

import logging

import pytest
from sandbox_support import ADDRESS, KEY, Clock, client_for

from reconciler.sandbox import Sandbox, State, StateError


def test_a_portal_edit_shows_up_in_the_api(sandbox: Sandbox, clock: Clock) -> None:
    with client_for(sandbox) as client:
        group = client.post("/billing_groups", json={"name": "Ops"}).json()["data"]
        clock.advance(3600)
        sandbox.state.update("billing_groups", group["id"], {"name": "Renamed in portal"})
        seen = client.get(f"/billing_groups/{group['id']}").json()["data"]
    assert seen["name"] == "Renamed in portal"
    assert seen["updated_at"] == "2024-05-01T13:00:00.000Z" and seen["created_at"] == group["created_at"]


def test_a_portal_delete_and_insert_show_up_in_the_api(sandbox: Sandbox) -> None:
    with client_for(sandbox) as client:
        ip = client.post("/access_ip_address", json={"ip_address": "192.0.2.1"}).json()
        sandbox.state.delete("access_ips", ip["id"])
        sandbox.state.insert("access_ips", {**ip, "id": "manual-1", "ip_address": "192.0.2.2"})
        listed = client.get("/access_ip_address").json()["data"]
    assert [r["ip_address"] for r in listed] == ["192.0.2.2"]


def test_state_calls_name_what_is_wrong(sandbox: Sandbox) -> None:
    with pytest.raises(StateError, match="unknown collection 'porting_orders'"):
        sandbox.state.all("porting_orders")
    with pytest.raises(StateError, match="no billing_groups record"):
        sandbox.state.update("billing_groups", "missing", {"name": "x"})


def test_usage_comes_from_marks_and_from_references_other_collections_declare() -> None:
    def uses(collection: str, record: dict) -> list[tuple[str, str]]:
        if collection == "phone_numbers" and record.get("emergency_address_id"):
            return [("addresses", record["emergency_address_id"])]
        return []

    state = State(collections=["addresses", "phone_numbers"], uses=uses)
    state.insert("addresses", {"id": "1", **ADDRESS})
    assert state.users_of("addresses", "1") == []
    state.insert("phone_numbers", {"id": "77", "emergency_address_id": "1"})
    state.mark_in_use("addresses", "1", by="manual")
    assert state.users_of("addresses", "1") == ["manual", "phone_numbers/77"]
    state.release("addresses", "1", by="manual")
    assert state.users_of("addresses", "1") == ["phone_numbers/77"]


def test_timestamps_follow_the_injected_clock() -> None:
    clock = Clock()
    state = State(collections=["billing_groups"], clock=clock)
    assert state.now() == "2024-05-01T12:00:00.000Z"
    clock.advance(0.25)
    assert state.now() == "2024-05-01T12:00:00.250Z"


def test_the_key_is_never_echoed_or_logged(caplog: pytest.LogCaptureFixture) -> None:
    secret = "KEY-do-not-leak-123"
    sandbox = Sandbox(api_key=secret)
    caplog.set_level(logging.DEBUG, logger="reconciler.sandbox")
    with sandbox.serve() as base_url:
        import httpx

        for key in (secret, "wrong"):
            response = httpx.get(base_url + "/billing_groups", headers={"Authorization": f"Bearer {key}"})
            assert secret not in response.text and secret not in str(response.headers)
    assert secret not in repr(sandbox)
    assert all(secret not in record.getMessage() for record in caplog.records)
    with client_for(sandbox, key=KEY) as client:
        assert client.get("/billing_groups").status_code == 401


def test_addresses_and_groups_get_distinct_ids(sandbox: Sandbox) -> None:
    with client_for(sandbox) as client:
        ids = {client.post("/addresses", json=ADDRESS).json()["data"]["id"] for _ in range(20)}
    assert len(ids) == 20 and all(i.isdigit() and len(i) == 19 for i in ids)
