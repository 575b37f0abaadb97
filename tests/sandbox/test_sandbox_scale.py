"""An account of 100,000 numbers: a page costs O(page size), not O(account size).

Counted, not timed: how many stored records a request reads and renders. Timings are in
bench_sandbox_scale.py (run it with python)."""

from __future__ import annotations

import time
from typing import Any, Iterator

import pytest

from reconciler.sandbox import Sandbox, generate_account
from reconciler.sandbox.store import State

AUTH = {"Authorization": "Bearer sandbox-key"}
SIZE = 100_000


@pytest.fixture(scope="module")
def large() -> Iterator[Sandbox]:
    started = time.perf_counter()
    sandbox = Sandbox(seed=generate_account(SIZE, seed=9, mobile=10))
    # Generous: a regression to per-record schema checks would take a minute or more.
    assert time.perf_counter() - started < 30
    yield sandbox


class Reads:
    """Counts stored records read (`State.peek`, and each record `State.peek_many` returns) and detailed
    views built (not taken from the cache) while installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> None:
        self.peeks = self.renders = 0
        peek, peek_many = State.peek, State.peek_many
        view = sandbox.collections["phone_numbers"].as_detailed  # type: ignore[attr-defined]
        detailed = view.render

        def counting_peek(state: State, collection: str, ident: str) -> Any:
            self.peeks += 1
            return peek(state, collection, ident)

        def counting_peek_many(state: State, collection: str, ids: Any) -> Any:
            records = peek_many(state, collection, ids)
            self.peeks += len(records)
            return records

        def counting_detailed(record: Any, now: str) -> Any:
            self.renders += 1
            return detailed(record, now)

        monkeypatch.setattr(State, "peek", counting_peek)
        monkeypatch.setattr(State, "peek_many", counting_peek_many)
        monkeypatch.setattr(view, "render", counting_detailed)

    def reset(self) -> None:
        self.peeks = self.renders = 0


def get(sandbox: Sandbox, path: str, **params: Any) -> dict[str, Any]:
    response = sandbox.handle("GET", "/v2" + path, [(k, str(v)) for k, v in params.items()], AUTH, b"")
    assert response.status == 200, response.body[:300]
    return dict(response.json())


def test_all_400_pages_hold_every_number_once(large: Sandbox) -> None:
    seen: list[str] = []
    for number in range(1, 402):
        body = get(large, "/phone_numbers", **{"page[size]": 250, "page[number]": number})
        seen += [row["id"] for row in body["data"]]
    assert body["data"] == [] and body["meta"]["total_pages"] == 400
    assert len(seen) == SIZE and len(set(seen)) == SIZE
    created = [large.state.peek("phone_numbers", i)["created_at"] for i in seen[:: SIZE // 100]]  # type: ignore[index]
    assert created == sorted(created, reverse=True)


def test_a_page_reads_only_its_own_records(large: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    get(large, "/phone_numbers", **{"page[size]": 250})  # the order is computed once
    reads = Reads(monkeypatch, large)
    get(large, "/phone_numbers", **{"page[size]": 250, "page[number]": 321})
    assert reads.renders == 250 and reads.peeks <= 260

    ident = get(large, "/phone_numbers", **{"page[size]": 1, "filter[status]": "active"})["data"][0]["id"]
    response = large.handle("PATCH", f"/v2/phone_numbers/{ident}", [], {**AUTH, "content-type": "application/json"},
                            b'{"tags": ["edited"]}')
    assert response.status == 200
    reads.reset()
    page = get(large, "/phone_numbers", **{"page[size]": 250, "page[number]": 2})
    assert reads.peeks <= 260  # editing a number does not invalidate the default order
    assert page["meta"]["total_results"] == SIZE


def test_a_page_read_again_builds_only_the_rows_that_changed(large: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    before = get(large, "/phone_numbers", **{"page[size]": 250, "page[number]": 17, "filter[status]": "active"})
    reads = Reads(monkeypatch, large)
    assert get(large, "/phone_numbers", **{"page[size]": 250, "page[number]": 17, "filter[status]": "active"}) == before
    assert reads.renders == 0

    ident = before["data"][100]["id"]
    response = large.handle("PATCH", f"/v2/phone_numbers/{ident}", [], {**AUTH, "content-type": "application/json"},
                            b'{"customer_reference": "re-read"}')
    assert response.status == 200
    reads.reset()
    after = get(large, "/phone_numbers", **{"page[size]": 250, "page[number]": 17, "filter[status]": "active"})
    assert after["data"][100]["customer_reference"] == "re-read"
    assert [row for i, row in enumerate(after["data"]) if i != 100] == [
        row for i, row in enumerate(before["data"]) if i != 100]
    assert reads.renders == 0  # the PATCH answer's own view is the one the page reuses


def test_a_filtered_listing_scans_once_then_pages_cheaply(large: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = Reads(monkeypatch, large)
    first = get(large, "/phone_numbers", **{"page[size]": 250, "filter[tag]": "support"})
    assert reads.peeks >= SIZE  # one scan of the account
    total = first["meta"]["total_results"]
    assert 5_000 < total < 30_000
    reads.reset()
    second = get(large, "/phone_numbers", **{"page[size]": 250, "page[number]": 2, "filter[tag]": "support"})
    assert reads.peeks <= 260 and len(second["data"]) == 250
    assert all("support" in row["tags"] for row in first["data"] + second["data"])


def test_lookups_by_number_and_usage_do_not_scan(large: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    address = large.state.all("addresses")[0]["id"]
    reads = Reads(monkeypatch, large)
    users = large.state.users_of("addresses", address)
    assert len(users) > 1_000 and reads.peeks == 0
    response = large.handle("DELETE", f"/v2/addresses/{address}", [], AUTH, b"")
    assert response.status == 422 and reads.peeks < 10
    number = get(large, "/phone_numbers", **{"page[size]": 1, "filter[status]": "active"})["data"][0]
    reads.reset()
    assert large.state.lookup("phone_numbers", "phone_number", number["phone_number"]) == number["id"]
    messaging = get(large, f"/phone_numbers/{number['phone_number']}/messaging")["data"]
    assert messaging["id"] == number["id"] and reads.peeks < 10
