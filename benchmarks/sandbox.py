"""How fast the sandbox answers one client: single-number PATCHes and list pages, in memory and with a state file.

    .venv/bin/python benchmarks/sandbox.py [--numbers 2000] [--patches 600] [--pages 400]

The script serves a generated account of N numbers from a sandbox in its own process
(`telnyx-reconciler sandbox --generate-numbers N` on 127.0.0.1, a free port, no added latency), once in
memory and once with `--state FILE`, and sends, from one client (httpx with keep-alive, one request at a
time):

- `PATCH /phone_numbers/{id}` with new tags, cycling through the account's numbers;
- `GET /phone_numbers?page[size]=250&page[number]=k`, cycling through the pages.

It prints requests per second for each, the sandbox process's CPU time per request (what the rate would be
on an idle machine: the client waits on the sandbox), the state file's cost against memory, then one JSON line.
Every wait is bounded and the sandbox is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import httpx
from sandbox_process import API_KEY, Served, sandbox_process

PAGE = 250
REQUEST_TIMEOUT = 30.0
GOALS = {"patches_per_s": 300.0, "pages_per_s": 200.0, "state_cost": 0.20}


def _ids(client: httpx.Client, numbers: int) -> list[str]:
    """The numbers that can be changed (generated accounts hold some that are not active)."""
    ids: list[str] = []
    for page in range(1, -(-numbers // PAGE) + 1):
        answer = client.get("/phone_numbers", params={"page[size]": PAGE, "page[number]": page})
        answer.raise_for_status()
        ids += [item["id"] for item in answer.json()["data"] if item.get("status") == "active"]
    return ids


def _rate(served: Served, count: int, send: Callable[[int], httpx.Response]) -> tuple[float, float]:
    """(requests per second, sandbox CPU milliseconds per request) over `count` sequential `send(i)`, each checked."""
    started, cpu = time.perf_counter(), served.cpu_seconds()
    for i in range(count):
        answer = send(i)
        if answer.status_code >= 300:
            raise SystemExit(f"{answer.request.method} {answer.request.url} answered {answer.status_code}: {answer.text[:300]}")
    return count / (time.perf_counter() - started), (served.cpu_seconds() - cpu) * 1000 / count


def run(numbers: int, patches: int, pages: int, state: Path | None) -> dict[str, float]:
    options = ["--generate-numbers", str(numbers), *(["--state", str(state)] if state is not None else [])]
    with sandbox_process(*options) as served, httpx.Client(base_url=served.url, timeout=REQUEST_TIMEOUT,
                                                           headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        ids = _ids(client, numbers)
        last_page = max(1, numbers // PAGE)
        patch = _rate(served, patches, lambda i: client.patch(f"/phone_numbers/{ids[i % len(ids)]}",
                                                              json={"tags": [f"t{i}"]}))
        page = _rate(served, pages, lambda i: client.get("/phone_numbers", params={"page[size]": PAGE,
                                                                                    "page[number]": i % last_page + 1}))
    return {"patches_per_s": round(patch[0], 1), "patch_cpu_ms": round(patch[1], 2),
            "pages_per_s": round(page[0], 1), "page_cpu_ms": round(page[1], 2)}


def goals(memory: dict[str, float], state: dict[str, float]) -> dict[str, bool]:
    cost = 1 - state["patches_per_s"] / memory["patches_per_s"]
    return {
        f"PATCH >= {GOALS['patches_per_s']:g}/s": memory["patches_per_s"] >= GOALS["patches_per_s"],
        f"pages >= {GOALS['pages_per_s']:g}/s": memory["pages_per_s"] >= GOALS["pages_per_s"],
        f"state file costs <= {GOALS['state_cost']:.0%}": cost <= GOALS["state_cost"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=2000, help="phone numbers in the generated account")
    parser.add_argument("--patches", type=int, default=600, help="single-number PATCHes to send")
    parser.add_argument("--pages", type=int, default=400, help="list pages of 250 numbers to read")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="telnyx-bench-") as work:
        memory = run(options.numbers, options.patches, options.pages, None)
        state = run(options.numbers, options.patches, options.pages, Path(work) / "state.json")
    cost = 1 - state["patches_per_s"] / memory["patches_per_s"]
    print(f"Sandbox in its own process, {options.numbers} numbers, one client, sequential requests")
    print(f"{'':<12} {'PATCH /s':>9} {'CPU ms':>7} {'pages /s':>9} {'CPU ms':>7}   (sandbox CPU per request)")
    for name, row in (("memory", memory), ("state file", state)):
        print(f"{name:<12} {row['patches_per_s']:>9} {row['patch_cpu_ms']:>7} {row['pages_per_s']:>9} {row['page_cpu_ms']:>7}")
    print(f"the state file costs {cost:.0%} of the PATCH rate")
    met = goals(memory, state)
    print("goals: " + ", ".join(f"{k}: {'met' if v else 'NOT MET'}" for k, v in met.items()))
    conditions = {"numbers": options.numbers, "patches": options.patches, "pages": options.pages,
                  "cpus": os.cpu_count(), "python": sys.version.split()[0]}
    print(json.dumps({"benchmark": "sandbox", "conditions": conditions, "memory": memory, "state_file": state,
                      "goals": met}, sort_keys=True))


if __name__ == "__main__":
    main()
