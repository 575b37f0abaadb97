"""Injected failures, latency and the rate limit: what a client must survive."""

from __future__ import annotations

import threading
import time

from sandbox_support import Clock, client_for

from reconciler.sandbox import Sandbox


def _blind_creates(sandbox: Sandbox, count: int) -> list[int]:
    with client_for(sandbox) as client:
        return [client.post("/billing_groups", json={"name": f"g{i}"}).status_code for i in range(count)]


def test_a_failed_create_may_still_have_happened() -> None:
    sandbox = Sandbox(fail_rate=1.0, random_seed=11, clock=Clock())
    statuses = _blind_creates(sandbox, 20)
    assert set(statuses) <= {500, 503} and len(set(statuses)) == 2
    committed = len(sandbox.state.all("billing_groups"))
    # Half of the failures on mutating requests come after the commit.
    assert 3 <= committed <= 17


def test_faults_are_reproducible_for_a_random_seed() -> None:
    runs = []
    for _ in range(2):
        sandbox = Sandbox(fail_rate=0.5, random_seed=5, clock=Clock())
        runs.append((_blind_creates(sandbox, 30), [g["name"] for g in sandbox.state.all("billing_groups")]))
    assert runs[0] == runs[1]
    assert 200 in runs[0][0] and any(s >= 500 for s in runs[0][0])


def test_reads_never_fail_after_the_fact_and_no_faults_by_default() -> None:
    quiet = Sandbox()
    with client_for(quiet) as client:
        assert {client.get("/billing_groups").status_code for _ in range(50)} == {200}


def test_latency_is_slept_outside_the_state_lock() -> None:
    sandbox = Sandbox(latency_ms=200)
    statuses: list[int] = []

    def call() -> None:
        with client_for(sandbox) as client:
            statuses.append(client.post("/billing_groups", json={"name": "slow"}).status_code)

    started = time.monotonic()
    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    elapsed = time.monotonic() - started
    assert statuses == [200] * 4
    assert 0.2 <= elapsed < 0.7  # four overlapping 200 ms sleeps, not 800 ms in a row


def test_rate_limit_refills_over_time() -> None:
    sandbox = Sandbox(rate_limit=20)
    with client_for(sandbox) as client:
        statuses = [client.get("/billing_groups").status_code for _ in range(40)]
        assert statuses[:20] == [200] * 20 and 429 in statuses[20:]
        time.sleep(0.15)
        assert client.get("/billing_groups").status_code == 200


def test_no_rate_limit_headers_without_a_limit() -> None:
    with client_for(Sandbox()) as client:
        response = client.get("/billing_groups")
    assert "x-ratelimit-limit" not in response.headers
    assert response.headers["content-type"] == "application/json"
