"""The sandbox serves no field its operation's response schema does not declare.

Plain JSON Schema validation lets an object carry properties the schema never names, so a field the
real API does not send (and a client must therefore not rely on) passes it unseen. This walk is
stricter: it follows `$ref`, merges `allOf`, takes the best-matching `oneOf`/`anyOf` branch, descends
into arrays, and reports every property that is not declared where additional properties are not
allowed. Every GET of the subset is read from a sandbox that holds every kind, in several states.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import httpx
import pytest
from sandbox_support import ADDRESS, PROVIDER, Clock, client_for
from test_sandbox_portouts import PENDING, portout_seed

from reconciler.sandbox import Sandbox, generate_account
from reconciler.sandbox.spec import Spec, load_spec

MIN_RESPONSES = 25


def undeclared(spec: Spec, schema: Any, value: Any, where: str = "") -> list[str]:
    """Places in `value` holding a property `schema` does not declare (and does not allow)."""
    schema = spec.resolve(schema)
    if not isinstance(schema, Mapping):
        return []
    branches = [spec.resolve(b) for b in schema.get("oneOf", []) + schema.get("anyOf", [])]
    if branches:
        rest = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
        return min((undeclared(spec, _merged(spec, [rest, b]), value, where) for b in branches), key=len)
    if "allOf" in schema:
        return undeclared(spec, _merged(spec, [schema]), value, where)
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in undeclared(spec, schema.get("items", {}), item, f"{where}/{i}")]
    if not isinstance(value, dict):
        return []
    declared, extra = schema.get("properties", {}), schema.get("additionalProperties")
    found = []
    for name, item in value.items():
        if name in declared:
            found += undeclared(spec, declared[name], item, f"{where}/{name}")
        elif isinstance(extra, Mapping):
            found += undeclared(spec, extra, item, f"{where}/{name}")
        elif extra is not True and (declared or extra is False):
            found.append(f"{where}/{name}")
    return found


def _merged(spec: Spec, schemas: list[Any]) -> dict[str, Any]:
    """One schema from `allOf` parts (and their own `allOf`s): properties and keywords combined."""
    merged: dict[str, Any] = {"properties": {}}
    for part in (spec.resolve(s) for s in schemas):
        if "allOf" in part:
            inner = _merged(spec, part["allOf"])
            own = {k: v for k, v in part.items() if k != "allOf"}
            part = {**own, **inner, "properties": {**inner.get("properties", {}), **own.get("properties", {})}}
        for key, item in part.items():
            if key == "properties":
                merged["properties"].update(item)
            elif key in ("oneOf", "anyOf") and key in merged:
                merged[key] = merged[key] + item
            else:
                merged[key] = item
    if not merged["properties"]:
        del merged["properties"]
    return merged


def test_the_walk_finds_an_undeclared_field() -> None:
    spec = load_spec()
    voice = {"$ref": "#/components/schemas/PhoneNumberWithVoiceSettings"}
    assert undeclared(spec, voice, {"id": "1", "call_forwarding": {"call_forwarding_enabled": True}}) == []
    assert undeclared(spec, voice, {"id": "1", "caller_id_name_enabled": False}) == ["/caller_id_name_enabled"]
    assert undeclared(spec, voice, {"call_forwarding": {"colour": 1}}) == ["/call_forwarding/colour"]
    listing = {"type": "array", "items": voice}
    assert undeclared(spec, listing, [{}, {"colour": 1}]) == ["/1/colour"]
    branches = {"oneOf": [{"properties": {"a": {}}}, {"properties": {"b": {}}}]}
    assert undeclared(spec, branches, {"b": 1}) == [] and undeclared(spec, branches, {"c": 1}) == ["/c"]
    both = {"allOf": [{"properties": {"a": {}}}, {"properties": {"b": {}}}]}
    assert undeclared(spec, both, {"a": 1, "b": 2}) == [] and undeclared(spec, both, {"c": 1}) == ["/c"]
    assert undeclared(spec, {"properties": {"a": {}}, "additionalProperties": True}, {"c": 1}) == []
    assert undeclared(spec, {"type": "object"}, {"anything": 1}) == []


def every_kind(clock: Clock) -> Sandbox:
    seed = generate_account(40, seed=3, mobile=3)
    seed.update(portout_seed())
    seed["access_ips"] = [{"ip_address": "203.0.113.10", "description": "office"}]
    seed["sso_providers"] = [PROVIDER]
    seed["integration_secrets"] = [{"identifier": "crm", "type": "bearer", "token": "seed-Token-0042"}]
    seed["addresses"].append(ADDRESS)
    return Sandbox(clock=clock, seed=seed, job_seconds=10, job_seconds_per_number=0)


def started_work(api: httpx.Client, clock: Clock) -> dict[str, str]:
    """Jobs, a messaging order, a report and port-out events, some finished and some not."""
    listed = api.get("/phone_numbers", params={"page[size]": 250}).json()["data"]
    numbers = [n["phone_number"] for n in listed if n["status"] == "active"][:5]
    inactive = next(n["phone_number"] for n in listed if n["status"] != "active")  # fails in its job, with errors
    address = api.get("/addresses").json()["data"][0]["id"]
    jobs = [api.post("/phone_numbers/jobs/update_phone_numbers",
                     json={"phone_numbers": [*numbers[:2], inactive], "tags": ["x"]}),
            api.post("/phone_numbers/jobs/update_emergency_settings",
                     json={"phone_numbers": numbers[2:3], "emergency_enabled": True, "emergency_address_id": address})]
    order = api.post("/messaging_numbers_bulk_updates",
                     json={"messaging_profile_id": "", "numbers": numbers[:1], "assign_only": True})
    report = api.post("/portouts/reports", json={"report_type": "export_portouts_csv",
                                                 "params": {"filters": {"status__in": ["pending"]}}})
    api.post(f"/portouts/{PENDING}/comments", json={"body": "Please hold"})
    clock.advance(60)
    assert api.get(f"/phone_numbers/jobs/{jobs[0].json()['data']['id']}").json()["data"]["failed_operations"]
    api.post("/phone_numbers/jobs/delete_phone_numbers", json={"phone_numbers": numbers[4:5]})  # stays pending
    return {"job": jobs[0].json()["data"]["id"], "order": order.json()["data"]["order_id"],
            "report": report.json()["data"]["id"]}


def reads(api: httpx.Client, made: dict[str, str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every GET of the subset, with the ids of things the account holds, some with options that change
    what an answer carries."""
    first = {path: api.get(path).json()["data"][0]["id"]
             for path in ("/access_ip_address", "/addresses", "/authentication_providers", "/billing_groups",
                          "/phone_numbers", "/v2/mobile_phone_numbers", "/portouts", "/portouts/events")}
    number, mobile, portout = first["/phone_numbers"], first["/v2/mobile_phone_numbers"], PENDING
    for path in first:
        yield path, {}
        yield f"{path}/{first[path]}", {}
    yield "/phone_numbers", {"page[size]": 250}
    yield "/phone_numbers/slim", {}
    yield "/phone_numbers/slim", {"include_tags": "true", "include_connection": "true", "page[size]": 250}
    for view in ("voice", "messaging"):
        yield f"/phone_numbers/{view}", {"page[size]": 250}
        yield f"/phone_numbers/{number}/{view}", {}
    yield "/phone_numbers/jobs", {}
    yield f"/phone_numbers/jobs/{made['job']}", {}
    yield f"/messaging_numbers_bulk_updates/{made['order']}", {}
    yield "/mobile_phone_numbers/messaging", {}
    yield f"/mobile_phone_numbers/{mobile}/messaging", {}
    yield "/integration_secrets", {}
    yield "/portouts/reports", {}
    yield f"/portouts/reports/{made['report']}", {}
    for tail in ("comments", "supporting_documents"):
        yield f"/portouts/{portout}/{tail}", {}
    yield f"/portouts/rejections/{portout}", {}


@pytest.fixture
def served(clock: Clock) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    with client_for(every_kind(clock)) as api:
        yield api, started_work(api, clock)


def test_every_get_serves_only_declared_fields(served: tuple[httpx.Client, dict[str, str]]) -> None:
    api, made = served
    spec = load_spec()
    problems, answers, operations = [], set(), set()
    for path, params in reads(api, made):
        response = api.get(path, params=params)
        assert response.status_code // 100 == 2, (path, response.text)
        found = spec.find("GET", f"/v2{path}")
        assert found is not None, path
        operation = found[0]
        pointer = operation.responses[str(response.status_code)]
        problems += [f"GET {path}: {p}" for p in undeclared(spec, spec.node(pointer), response.json())]
        answers.add((path, tuple(sorted(params.items()))))
        operations.add(operation.operation_id)
    gets = {op.operation_id for (method, _), op in spec.operations.items() if method == "GET"}
    assert operations == gets, f"GETs not read: {sorted(gets - operations)}"
    assert len(answers) >= MIN_RESPONSES
    assert problems == [], "\n".join(problems)
