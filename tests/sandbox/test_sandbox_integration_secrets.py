"""Integration secrets: create, list and delete, with the value written once and never read back.

The `api` client checks every response against the spec as it arrives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_support import Clock, client_for, codes, errors_of, pointers

from reconciler.sandbox import Sandbox
from reconciler.sandbox.resources.integration_secrets import matches

TOKEN = "tok-Very-Secret-4417"
USERNAME, PASSWORD = "svc-webhooks", "pw-Hunter2-9931"
SHOWN = {"record_type", "id", "identifier", "created_at", "updated_at"}


def create(api: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/integration_secrets", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def identifiers(api: httpx.Client, **params: str) -> list[str]:
    response = api.get("/integration_secrets", params=params)
    assert response.status_code == 200, response.text
    return [s["identifier"] for s in response.json()["data"]]


def test_secret_lifecycle(api: httpx.Client, clock: Clock) -> None:
    bearer = create(api, {"identifier": "crm_token", "type": "bearer", "token": TOKEN})
    assert set(bearer) == SHOWN and bearer["record_type"] == "integration_secret"
    assert bearer["created_at"] == bearer["updated_at"] == "2024-05-01T12:00:00.000Z"
    clock.advance(1)
    create(api, {"identifier": "crm_basic", "type": "basic", "username": USERNAME, "password": PASSWORD})

    listed = api.get("/integration_secrets").json()
    assert [s["identifier"] for s in listed["data"]] == ["crm_token", "crm_basic"]
    assert listed["meta"] == {"page_number": 1, "page_size": 20, "total_pages": 1, "total_results": 2}
    assert identifiers(api, **{"filter[type]": "basic"}) == ["crm_basic"]
    assert identifiers(api, **{"page[size]": "1", "page[number]": "2"}) == ["crm_basic"]

    deleted = api.delete(f"/integration_secrets/{bearer['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    again = api.delete(f"/integration_secrets/{bearer['id']}")
    assert again.status_code == 404 and codes(again) == ["10005"]
    assert identifiers(api) == ["crm_basic"]


@pytest.mark.parametrize(("body", "expected"), [
    ({"identifier": "a", "type": "bearer"}, ["/token"]),
    ({"identifier": "a", "type": "bearer", "token": "  "}, ["/token"]),
    ({"identifier": "a", "type": "basic", "username": "u"}, ["/password"]),
    ({"identifier": "a", "type": "basic", "token": TOKEN}, ["/password", "/username"]),
    ({"type": "bearer", "token": TOKEN}, ["/identifier"]),
    ({"identifier": "a", "token": TOKEN}, ["/type"]),
])
def test_a_missing_value_is_10004(api: httpx.Client, body: dict[str, Any], expected: list[str]) -> None:
    response = api.post("/integration_secrets", json=body)
    assert response.status_code == 422
    assert sorted(p or "" for p in pointers(response)) == expected and set(codes(response)) == {"10004"}


@pytest.mark.parametrize(("body", "pointer"), [
    ({"identifier": "a", "type": "oauth", "token": TOKEN}, "/type"),
    ({"identifier": 7, "type": "bearer", "token": TOKEN}, "/identifier"),
])
def test_values_of_the_wrong_kind_are_10015(api: httpx.Client, body: dict[str, Any], pointer: str) -> None:
    response = api.post("/integration_secrets", json=body)
    assert response.status_code == 422 and codes(response) == ["10015"] and pointers(response) == [pointer]


def test_an_identifier_is_unique(api: httpx.Client) -> None:
    create(api, {"identifier": "crm", "type": "bearer", "token": TOKEN})
    response = api.post("/integration_secrets", json={"identifier": "crm", "type": "basic", "username": "u",
                                                      "password": "p"})
    assert response.status_code == 422 and codes(response) == ["10012"] and pointers(response) == ["/identifier"]
    assert errors_of(response)[0]["title"] == "Duplicate resource"


def test_there_is_no_read_or_update_of_one_secret(api: httpx.Client) -> None:
    secret = create(api, {"identifier": "crm", "type": "bearer", "token": TOKEN})
    assert api.get(f"/integration_secrets/{secret['id']}").status_code == 405
    assert api.patch(f"/integration_secrets/{secret['id']}", json={"token": "x"}).status_code == 405
    assert api.get("/integration_secrets", params={"filter[type]": "oauth"}).status_code == 422


def test_the_value_is_in_no_response_and_not_in_the_state_file(tmp_path: Path, clock: Clock) -> None:
    state = tmp_path / "state.json"
    seeded = {"integration_secrets": [{"identifier": "seeded", "type": "bearer", "token": "seed-Token-0042"}]}
    sandbox = Sandbox(clock=clock, state_path=state, seed=seeded)
    bodies: list[bytes] = []
    with client_for(sandbox) as api:
        api.event_hooks["response"].append(lambda r: bodies.append(r.read()))
        bearer = create(api, {"identifier": "crm_token", "type": "bearer", "token": TOKEN})
        create(api, {"identifier": "crm_basic", "type": "basic", "username": USERNAME, "password": PASSWORD})
        api.post("/integration_secrets", json={"identifier": "crm_token", "type": "bearer", "token": TOKEN})
        api.get("/integration_secrets")
        api.get("/integration_secrets", params={"filter[type]": "bearer"})
        api.delete(f"/integration_secrets/{bearer['id']}")
    sandbox.close()
    written = state.read_text()
    for value in (TOKEN, USERNAME, PASSWORD, "seed-Token-0042"):
        assert all(value.encode() not in body for body in bodies)
        assert value not in written
    assert all(b'"type"' not in body and b"bearer" not in body for body in bodies)

    restored = Sandbox(clock=clock, state_path=state)
    [seed, basic] = restored.state.all("integration_secrets")
    assert matches(seed, token="seed-Token-0042") and not matches(seed, token=TOKEN)
    assert matches(basic, username=USERNAME, password=PASSWORD) and not matches(basic, username=USERNAME,
                                                                                password="guess")
