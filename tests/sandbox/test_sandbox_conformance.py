"""Every operation of the four collections, on its success and error paths. The `api` client
validates each response against the spec's schema for its operation and status as it arrives;
these tests add what the status, codes and `source` must be."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sandbox_support import ADDRESS, KEY, PROVIDER, SETTINGS, client_for, codes, errors_of, pointers

from reconciler.sandbox import Sandbox
from reconciler.sandbox.resources import build_collections
from reconciler.sandbox.spec import load_spec

COLLECTION_PATHS = ("/billing_groups", "/access_ip_address", "/addresses", "/authentication_providers")
NO_SUCH_UUID = "6a09cff1-059b-4dc1-9d4e-0e8e1f0b0c1a"


def create(api: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(path, json=body)
    assert response.status_code == 200, response.text
    payload = response.json()
    return payload["data"] if "data" in payload else payload


def test_every_spec_operation_of_the_implemented_areas_is_routed() -> None:
    spec = load_spec()
    routed = {key for c in build_collections().values() for key in c.routes()}
    assert routed <= set(spec.operations)  # nothing off the contract
    assert routed == set(spec.operations)  # every operation of the subset is served
    first_four = {key for key in routed if key[1] in COLLECTION_PATHS or key[1].rsplit("/", 1)[0] in COLLECTION_PATHS}
    assert len(first_four) == 18
    assert len(routed) == 63
    port_out_area = {key for key in routed if key[1].startswith(("/portouts", "/integration_secrets"))}
    assert len(port_out_area) == 17


def test_billing_group_lifecycle(api: httpx.Client, clock: Any) -> None:
    group = create(api, "/billing_groups", {"name": "Ops"})
    assert group["record_type"] == "billing_group"
    assert group["created_at"] == group["updated_at"] == "2024-05-01T12:00:00.000Z"
    assert group["deleted_at"] is None

    clock.advance(60)
    patched = api.patch(f"/billing_groups/{group['id']}", json={"name": "Operations"}).json()["data"]
    assert patched["name"] == "Operations"
    assert patched["updated_at"] == "2024-05-01T12:01:00.000Z"
    assert api.get(f"/billing_groups/{group['id']}").json()["data"]["name"] == "Operations"

    listed = api.get("/billing_groups").json()
    assert [g["id"] for g in listed["data"]] == [group["id"]]
    assert listed["meta"] == {"page_number": 1, "page_size": 20, "total_pages": 1, "total_results": 1}

    deleted = api.delete(f"/billing_groups/{group['id']}").json()["data"]
    assert deleted["id"] == group["id"] and deleted["deleted_at"] == "2024-05-01T12:01:00.000Z"
    assert api.get(f"/billing_groups/{group['id']}").status_code == 404


def test_access_ip_lifecycle_and_filters(api: httpx.Client, clock: Any) -> None:
    office = create(api, "/access_ip_address", {"ip_address": "203.0.113.7", "description": "office"})
    vpn = create(api, "/access_ip_address", {"ip_address": "2001:db8::1"})
    assert office["status"] == "pending" and office["source"] == "api" and office["user_id"]

    clock.advance(10)
    assert api.get(f"/access_ip_address/{office['id']}").json()["status"] == "added"
    by_ip = api.get("/access_ip_address", params={"filter[ip_address]": "2001:db8::1"}).json()
    assert [r["id"] for r in by_ip["data"]] == [vpn["id"]]
    assert by_ip["meta"]["total_results"] == 1
    by_source = api.get("/access_ip_address", params={"filter[ip_source]": "cloudflare"}).json()
    assert by_source["data"] == []
    after = api.get("/access_ip_address", params={"filter[created_at][gt]": "2024-05-01T11:00:00Z"}).json()
    assert len(after["data"]) == 2

    removed = api.delete(f"/access_ip_address/{office['id']}").json()
    assert removed["id"] == office["id"] and removed["ip_address"] == "203.0.113.7"
    missing = api.get(f"/access_ip_address/{office['id']}")
    assert missing.status_code == 404 and codes(missing) == ["10005"]


@pytest.mark.parametrize("bad", ["203.0.113", "not-an-ip", "10.0.0.0/24", ""])
def test_access_ip_rejects_invalid_addresses(api: httpx.Client, bad: str) -> None:
    response = api.post("/access_ip_address", json={"ip_address": bad})
    assert response.status_code == 422
    assert codes(response) == ["10015"] and pointers(response) == ["/ip_address"]


def test_access_ip_duplicate_is_10012(api: httpx.Client) -> None:
    create(api, "/access_ip_address", {"ip_address": "198.51.100.1"})
    response = api.post("/access_ip_address", json={"ip_address": "198.51.100.1"})
    assert response.status_code == 422
    assert codes(response) == ["10012"] and pointers(response) == ["/ip_address"]
    assert errors_of(response)[0]["title"] == "Duplicate resource"


def test_address_lifecycle_fills_service_defaults(api: httpx.Client) -> None:
    address = create(api, "/addresses", ADDRESS)
    assert address["id"].isdigit() and len(address["id"]) == 19
    assert address["record_type"] == "address"
    assert address["address_book"] is True and address["validate_address"] is True
    assert address["created_at"].endswith("Z")
    assert api.get(f"/addresses/{address['id']}").json()["data"] == address
    assert api.delete(f"/addresses/{address['id']}").json()["data"]["id"] == address["id"]
    assert api.get(f"/addresses/{address['id']}").status_code == 404


def test_address_filters_and_sort(api: httpx.Client, sandbox: Sandbox) -> None:
    hq = create(api, "/addresses", ADDRESS)
    lab = create(api, "/addresses", {**ADDRESS, "street_address": "1 Lab Road", "customer_reference": "LAB-7",
                                     "address_book": False})
    sandbox.state.mark_in_use("addresses", lab["id"], by="phone_numbers/+15125550100")

    def ids(**params: str) -> list[str]:
        response = api.get("/addresses", params=params)
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["data"]]

    assert ids(**{"filter[customer_reference][eq]": "LAB-7"}) == [lab["id"]]
    assert ids(**{"filter[customer_reference][eq]": "lab-7"}) == []
    assert ids(**{"filter[customer_reference][contains]": "hq"}) == [hq["id"]]
    assert ids(**{"filter[customer_reference]": "-00"}) == [hq["id"]]
    assert ids(**{"filter[street_address][contains]": "congress"}) == [hq["id"]]
    assert ids(**{"filter[address_book][eq]": "false"}) == [lab["id"]]
    assert ids(**{"filter[used_as_emergency]": "true"}) == [lab["id"]]
    assert ids(**{"filter[used_as_emergency]": "false"}) == [hq["id"]]
    assert ids(sort="street_address") == [lab["id"], hq["id"]]
    assert ids(sort="created_at") == [hq["id"], lab["id"]]
    assert ids() == [lab["id"], hq["id"]]  # no sort given: newest first

    short = api.get("/addresses", params={"filter[street_address][contains]": "ab"})
    assert short.status_code == 422 and errors_of(short)[0]["source"] == {
        "parameter": "filter[street_address][contains]"}
    # The spec's `sort` enum for addresses has no descending values.
    descending = api.get("/addresses", params={"sort": "-street_address"})
    assert descending.status_code == 422 and codes(descending) == ["10015"]


def test_address_in_use_cannot_be_deleted(api: httpx.Client, sandbox: Sandbox) -> None:
    address = create(api, "/addresses", ADDRESS)
    sandbox.state.mark_in_use("addresses", address["id"], by="phone_numbers/1293384261075731499")
    refused = api.delete(f"/addresses/{address['id']}")
    assert refused.status_code == 422
    assert codes(refused) == ["10021"] and errors_of(refused)[0]["title"] == "Resource in use"
    assert api.get(f"/addresses/{address['id']}").status_code == 200

    sandbox.state.release("addresses", address["id"])
    assert api.delete(f"/addresses/{address['id']}").status_code == 200


def test_authentication_provider_lifecycle(api: httpx.Client, clock: Any) -> None:
    provider = create(api, "/authentication_providers", PROVIDER)
    settings = provider["settings"]
    assert settings["assertion_consumer_service_url"] == "https://api.telnyx.com/sso/saml/auth/myorg"
    assert settings["service_provider_entity_id"] == "https://api.telnyx.com/sso/saml/metadata/myorg"
    assert settings["service_provider_login_url"] == "https://api.telnyx.com/sso/myorg"
    assert settings["idp_cert_fingerprint_algorithm"] == "sha1"
    assert provider["active"] is True and provider["activated_at"] == provider["created_at"]
    assert provider["organization_id"] and provider["record_type"] == "authentication_provider"

    clock.advance(30)
    off = api.patch(f"/authentication_providers/{provider['id']}", json={"active": False, "short_name": "acme"})
    body = off.json()["data"]
    assert body["active"] is False and "activated_at" not in body
    assert body["settings"]["service_provider_login_url"] == "https://api.telnyx.com/sso/acme"
    assert body["settings"]["idp_entity_id"] == SETTINGS["idp_entity_id"]
    on = api.patch(f"/authentication_providers/{provider['id']}", json={"active": True}).json()["data"]
    assert on["activated_at"] == "2024-05-01T12:00:30.000Z"

    assert api.delete(f"/authentication_providers/{provider['id']}").json()["data"]["short_name"] == "acme"
    assert api.get(f"/authentication_providers/{provider['id']}").status_code == 404


def test_authentication_providers_sort(api: httpx.Client, clock: Any) -> None:
    for short in ("bravo", "alpha", "charlie"):
        create(api, "/authentication_providers", {**PROVIDER, "name": short.title(), "short_name": short})
        clock.advance(1)

    def names(sort: str | None = None) -> list[str]:
        params = {"sort": sort} if sort else {}
        return [p["short_name"] for p in api.get("/authentication_providers", params=params).json()["data"]]

    assert names() == ["charlie", "alpha", "bravo"]  # default -created_at
    assert names("name") == ["alpha", "bravo", "charlie"]
    assert names("-short_name") == ["charlie", "bravo", "alpha"]
    assert names("created_at") == ["bravo", "alpha", "charlie"]
    bad = api.get("/authentication_providers", params={"sort": "colour"})
    assert bad.status_code == 422 and errors_of(bad)[0]["source"] == {"parameter": "sort"}


def test_short_name_is_unique_on_create_and_update(api: httpx.Client) -> None:
    first = create(api, "/authentication_providers", PROVIDER)
    create(api, "/authentication_providers", {**PROVIDER, "short_name": "other"})
    again = api.post("/authentication_providers", json=PROVIDER)
    assert again.status_code == 422 and codes(again) == ["10012"] and pointers(again) == ["/short_name"]
    clash = api.patch(f"/authentication_providers/{first['id']}", json={"short_name": "other"})
    assert clash.status_code == 422 and codes(clash) == ["10012"]
    same = api.patch(f"/authentication_providers/{first['id']}", json={"short_name": "myorg"})
    assert same.status_code == 200


# -- rejected requests ---------------------------------------------------------------------

MISSING_FIELDS = [
    ("/addresses", {k: v for k, v in ADDRESS.items() if k not in ("first_name", "locality")},
     ["/first_name", "/locality"]),
    ("/access_ip_address", {"description": "no address"}, ["/ip_address"]),
    ("/authentication_providers", {"name": "Okta", "short_name": "x"}, ["/settings"]),
    ("/authentication_providers", {**PROVIDER, "settings": {"idp_entity_id": "https://idp/e"}},
     ["/settings/idp_cert_fingerprint", "/settings/idp_sso_target_url"]),
]


@pytest.mark.parametrize(("path", "body", "expected"), MISSING_FIELDS)
def test_missing_required_fields_are_10004_with_pointers(api: httpx.Client, path: str, body: dict[str, Any],
                                                         expected: list[str]) -> None:
    response = api.post(path, json=body)
    assert response.status_code == 422
    assert codes(response) == ["10004"] * len(expected)
    assert pointers(response) == expected
    assert all(e["title"] == "Missing required parameter" and e["detail"] for e in errors_of(response))


WRONG_TYPES = [
    ("POST", "/billing_groups", {"name": 5}, "/name"),
    ("POST", "/access_ip_address", {"ip_address": "10.1.1.1", "description": ["x"]}, "/description"),
    ("POST", "/addresses", {**ADDRESS, "address_book": "yes"}, "/address_book"),
    ("POST", "/authentication_providers", {**PROVIDER, "active": "true"}, "/active"),
    ("POST", "/authentication_providers",
     {**PROVIDER, "settings": {**SETTINGS, "idp_cert_fingerprint_algorithm": "md5"}},
     "/settings/idp_cert_fingerprint_algorithm"),
]


@pytest.mark.parametrize(("method", "path", "body", "pointer"), WRONG_TYPES)
def test_schema_violations_are_10015_with_pointer(api: httpx.Client, method: str, path: str,
                                                   body: dict[str, Any], pointer: str) -> None:
    response = api.request(method, path, json=body)
    assert response.status_code == 422
    assert codes(response) == ["10015"] and pointers(response) == [pointer]


def test_patch_with_wrong_type_uses_the_billing_envelope(api: httpx.Client) -> None:
    group = create(api, "/billing_groups", {"name": "Ops"})
    response = api.patch(f"/billing_groups/{group['id']}", json={"name": False})
    assert response.status_code == 422
    # Billing groups' 422 schema (`Errors`) declares an integer code.
    assert errors_of(response)[0]["code"] == 10015 and pointers(response) == ["/name"]


@pytest.mark.parametrize("path", COLLECTION_PATHS)
def test_page_size_above_250_is_rejected(api: httpx.Client, path: str) -> None:
    response = api.get(path, params={"page[size]": "251"})
    assert response.status_code == 422
    assert codes(response) == ["10015"]
    assert errors_of(response)[0]["source"] == {"parameter": "page[size]"}
    assert api.get(path, params={"page[size]": "250"}).status_code == 200


@pytest.mark.parametrize("path", COLLECTION_PATHS)
def test_page_number_must_be_an_integer(api: httpx.Client, path: str) -> None:
    response = api.get(path, params={"page[number]": "two"})
    assert response.status_code == 422
    assert errors_of(response)[0]["detail"] == "The 'page[number]' parameter must be an integer."


def test_malformed_json_is_400(api: httpx.Client) -> None:
    response = api.post("/billing_groups", content=b'{"name": ', headers={"content-type": "application/json"})
    assert response.status_code == 400 and codes(response) == ["10015"] and pointers(response) == ["/"]


def test_missing_body_is_10004(api: httpx.Client) -> None:
    response = api.post("/addresses")
    assert response.status_code == 422 and codes(response) == ["10004"]


@pytest.mark.parametrize("path", [
    "/billing_groups/not-a-uuid", "/billing_groups/" + NO_SUCH_UUID, "/access_ip_address/nope", "/addresses/1",
    "/authentication_providers/" + NO_SUCH_UUID,
])
def test_unknown_ids_are_404(api: httpx.Client, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 404
    assert codes(response) == (["10006"] if "not-a-uuid" in path else ["10005"])


@pytest.mark.parametrize("path", ["/billing_groups", "/access_ip_address", "/addresses/1",
                                  "/authentication_providers"])
@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_authentication_is_required(sandbox: Sandbox, path: str, key: str | None) -> None:
    with client_for(sandbox, key=key) as client:
        response = client.get(path)
    assert response.status_code == 401
    assert codes(response) == ["10009"] and errors_of(response)[0]["title"] == "Authentication failed"
    assert KEY not in response.text


def test_unknown_path_and_wrong_method(api: httpx.Client, sandbox: Sandbox) -> None:
    unknown = api.get("/billing_group")
    assert unknown.status_code == 404 and codes(unknown) == ["10005"]
    no_patch = api.patch("/access_ip_address/abc", json={})
    assert no_patch.status_code == 405 and no_patch.headers["allow"] == "DELETE, GET"
    assert api.patch("/addresses/1", json={}).status_code == 405
    outside = httpx.Client(transport=sandbox.transport(), base_url="http://sandbox.local",
                           headers={"Authorization": f"Bearer {KEY}"}).get("/billing_groups")
    assert outside.status_code == 404


def test_rate_limit_answers_429_with_retry_after(clock: Any) -> None:
    sandbox = Sandbox(clock=clock, rate_limit=2)
    with client_for(sandbox) as client:
        first = client.get("/billing_groups")
        assert first.headers["x-ratelimit-limit"] == "2" and first.headers["x-ratelimit-remaining"] == "1"
        assert client.post("/access_ip_address", json={"ip_address": "10.9.9.9"}).status_code == 200
        limited = [client.get("/billing_groups"), client.get("/access_ip_address/x"), client.get("/addresses")]
    for response in limited:
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["x-ratelimit-remaining"] == "0"
        assert int(response.headers["x-ratelimit-reset"]) >= 1
        error = errors_of(response)[0]
        assert (str(error["code"]), error["title"]) == ("10011", "Too many requests")
        assert error["detail"] == "You have exceeded the maximum number of allowed requests."


def test_injected_failures_use_the_operation_envelope(clock: Any) -> None:
    sandbox = Sandbox(clock=clock, fail_rate=1.0, random_seed=3)
    with client_for(sandbox) as client:
        responses = [client.get(p) for p in COLLECTION_PATHS] + [client.post("/billing_groups", json={"name": "x"})]
    for response in responses:
        assert response.status_code in (500, 503)
        assert codes(response) == ["10007"]
