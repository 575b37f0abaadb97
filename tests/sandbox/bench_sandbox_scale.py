"""Measure the sandbox with a large generated account; prints what it measured.

    .venv/bin/python tests/sandbox/bench_sandbox_scale.py [numbers]     (default 100,000)

Not collected by pytest (the counted, untimed checks are in test_sandbox_scale.py).
"""

from __future__ import annotations

import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from reconciler.sandbox import Sandbox, generate_account

AUTH = {"Authorization": "Bearer sandbox-key"}
JSON = {**AUTH, "content-type": "application/json"}


def timed(action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def pages(sandbox: Sandbox, path: str, count: int, **extra: str) -> float:
    started = time.perf_counter()
    for number in range(1, count + 1):
        query = [("page[size]", "250"), ("page[number]", str(number)), *extra.items()]
        response = sandbox.handle("GET", "/v2" + path, query, AUTH, b"")
        assert response.status == 200, response.body[:200]
    return time.perf_counter() - started


def patch_latency(sandbox: Sandbox, ids: list[str]) -> float:
    durations = []
    for i, ident in enumerate(ids):
        body = b'{"tags": ["bench-%d"]}' % i
        started = time.perf_counter()
        response = sandbox.handle("PATCH", f"/v2/phone_numbers/{ident}", [], JSON, body)
        durations.append(time.perf_counter() - started)
        assert response.status == 200, response.body[:200]
    return statistics.median(durations)


def active_ids(sandbox: Sandbox, count: int) -> list[str]:
    found: list[str] = []
    for number in range(1, count // 250 + 2):
        query = [("page[size]", "250"), ("page[number]", str(number)), ("filter[status]", "active")]
        found += [row["id"] for row in sandbox.handle("GET", "/v2/phone_numbers", query, AUTH, b"").json()["data"]]
    return found[:count]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def main(size: int) -> None:
    started = time.perf_counter()
    seed = generate_account(size)
    generated = time.perf_counter() - started
    clock = Clock()
    sandbox = Sandbox(seed=seed, clock=clock)
    loaded = time.perf_counter() - started - generated
    print(f"{size:,} numbers: generate_account {generated:.2f} s, Sandbox(seed=...) {loaded:.2f} s")

    total = size // 250 + (1 if size % 250 else 0)
    first = pages(sandbox, "/phone_numbers", 1)
    every = pages(sandbox, "/phone_numbers", total)
    print(f"GET /phone_numbers, all {total} pages of 250 via handle(): {every:.2f} s "
          f"({every / total * 1000:.1f} ms a page; the first request, which sorts, {first * 1000:.0f} ms)")
    for path in ("/phone_numbers/slim", "/phone_numbers/voice", "/phone_numbers/messaging"):
        print(f"GET {path}, 40 pages: {pages(sandbox, path, 40) / 40 * 1000:.1f} ms a page")
    scan = pages(sandbox, "/phone_numbers", 1, **{"filter[tag]": "support"})
    cached = pages(sandbox, "/phone_numbers", 20, **{"filter[tag]": "support"}) / 20
    print(f"filter[tag]: first page {scan * 1000:.0f} ms (one scan), later pages {cached * 1000:.1f} ms")
    ids = active_ids(sandbox, 200)
    print(f"PATCH /phone_numbers/{{id}}, in memory: median {patch_latency(sandbox, ids[:50]) * 1000:.2f} ms")
    after = pages(sandbox, "/phone_numbers", 1, **{"page[number]": "200"})  # the later page[number] wins
    print(f"a page after those PATCHes: {after * 1000:.1f} ms (the default order survives edits)")

    job_ids = active_ids(sandbox, 1000)
    body = b'{"phone_numbers": [%s], "tags": ["job"]}' % ",".join(f'"{i}"' for i in job_ids).encode()
    started = time.perf_counter()
    created = sandbox.handle("POST", "/v2/phone_numbers/jobs/update_phone_numbers", [], JSON, body)
    seconds = time.perf_counter() - started
    assert created.status == 202, created.body[:200]
    clock.now += timedelta(seconds=5)
    _, ran = timed(sandbox.advance)
    print(f"an update job over {len(job_ids)} numbers: created in {seconds * 1000:.0f} ms, applied in "
          f"{ran * 1000:.0f} ms")
    del sandbox
    gc.collect()

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    held = Sandbox(seed=seed)
    del seed
    gc.collect()
    print(f"memory held by the sandbox: {(tracemalloc.get_traced_memory()[0] - before) / 1e6:.0f} MB (tracemalloc)")
    tracemalloc.stop()
    del held
    gc.collect()
    persistence(size)


def persistence(size: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.json"
        started = time.perf_counter()
        sandbox = Sandbox(state_path=path, seed=generate_account(size))
        seconds = time.perf_counter() - started
        print(f"with state_path: seed and first snapshot {seconds:.2f} s, file {path.stat().st_size / 1e6:.0f} MB")
        ids = active_ids(sandbox, 100)
        print(f"PATCH with the journal: median {patch_latency(sandbox, ids) * 1000:.2f} ms")
        _, restart = timed(lambda: Sandbox(state_path=path))
        print(f"restart from snapshot + journal of {len(ids)} changes: {restart:.2f} s")
        _, closed = timed(sandbox.close)
        print(f"close() folding the journal into the snapshot: {closed:.2f} s")
        rewrite = Sandbox(state_path=path, journal_threshold=10**9)
        print(f"PATCH rewriting the whole file instead: median {patch_latency(rewrite, ids[:5]):.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
