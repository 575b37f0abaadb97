"""Paging over a large account: 600 billing groups."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_support import client_for

from reconciler.sandbox import Sandbox


@pytest.fixture(scope="module")
def big() -> Sandbox:
    return Sandbox(seed={"billing_groups": [{"name": f"group-{i:03d}"} for i in range(600)]})


def test_page_size_250_gives_three_pages(big: Sandbox) -> None:
    seen: list[str] = []
    metas: list[dict[str, Any]] = []
    with client_for(big) as client:
        for number in (1, 2, 3):
            body = client.get("/billing_groups", params={"page[number]": number, "page[size]": 250}).json()
            seen += [g["name"] for g in body["data"]]
            metas.append(body["meta"])
    assert [m["page_number"] for m in metas] == [1, 2, 3]
    assert {(m["page_size"], m["total_pages"], m["total_results"]) for m in metas} == {(250, 3, 600)}
    assert seen == [f"group-{i:03d}" for i in range(600)]


def test_default_page_is_number_1_of_size_20(big: Sandbox) -> None:
    with client_for(big) as client:
        body = client.get("/billing_groups").json()
    assert len(body["data"]) == 20
    assert body["meta"] == {"page_number": 1, "page_size": 20, "total_pages": 30, "total_results": 600}


def test_a_page_past_the_end_is_empty(big: Sandbox) -> None:
    with client_for(big) as client:
        body = client.get("/billing_groups", params={"page[number]": 4, "page[size]": 250}).json()
    assert body["data"] == [] and body["meta"]["total_pages"] == 3


def test_access_ip_pages_below_one_are_refused(sandbox: Sandbox) -> None:
    # This area's spec omits `minimum`, so the schema allows 0; the service cannot.
    with client_for(sandbox) as client:
        response = client.get("/access_ip_address", params={"page[size]": 0})
    assert response.status_code == 422
    assert response.json()["errors"][0]["source"] == {"parameter": "page[size]"}


def test_requests_are_recorded_in_order(big: Sandbox) -> None:
    before = len(big.requests)
    with client_for(big) as client:
        client.get("/billing_groups", params={"page[size]": 5})
        client.get("/billing_groups/nope")
    recorded = big.requests[before:]
    assert [(r.method, r.path, r.status, r.operation_id) for r in recorded] == [
        ("GET", "/v2/billing_groups", 200, "ListBillingGroups"),
        ("GET", "/v2/billing_groups/nope", 404, "GetBillingGroup"),
    ]
    assert recorded[0].query == [("page[size]", "5")]
