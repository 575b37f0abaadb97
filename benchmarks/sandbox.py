"""How fast the sandbox answers one client: single-number PATCHes and list pages, in memory and with a state file.

    .venv/bin/python benchmarks/sandbox.py [--numbers 2000] [--patches 2000] [--pages 1000]

The script serves a generated account of N numbers from a sandbox in its own process
(`telnyx-reconciler sandbox --generate-numbers N` on 127.0.0.1, a free port, no added latency), once in
memory and once with `--state FILE`, and sends, from one client (httpx with keep-alive, one request at a
time):

- `PATCH /phone_numbers/{id}` with new tags, cycling through the account's numbers;
- `GET /phone_numbers?page[size]=250&page[number]=k`, cycling through the pages.

It prints requests per second for each, the CPU time per request of the sandbox process and of the client
(the rate they allow on an idle machine: each waits on the other), what the state file adds to a PATCH,
then one JSON line.
Every wait is bounded and the sandbox is stopped at the end.

Measured on a shared 2-core machine (load average 3 to 5.5 from other work), defaults, five runs, min to
max (median); the rates move with the load, the CPU per request much less:

    PATCH, in memory        805 to 1,282/s (981)     sandbox 0.36 to 0.41 ms   client 0.47 ms
    PATCH, --state          676 to 1,183/s (1,163)   sandbox 0.39 to 0.44 ms   client 0.45 ms
    page of 250, in memory  310 to 809/s (701)       sandbox 0.66 to 0.76 ms   client 0.71 ms
    the state file adds 8% (-2 to 10%) to a PATCH

Before the lists kept each number's encoded view, in the same runs: pages 257 to 304/s (299), 2.5 to
2.7 ms of sandbox CPU each; the state file added 16% (7 to 21%) to a PATCH.
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


def _rate(served: Served, count: int, send: Callable[[int], httpx.Response]) -> dict[str, float]:
    """Requests per second, and CPU milliseconds per request of the sandbox and of this client, over `count`
    sequential `send(i)`, each checked."""
    started, cpu, client_cpu = time.perf_counter(), served.cpu_seconds(), time.process_time()
    for i in range(count):
        answer = send(i)
        if answer.status_code >= 300:
            raise SystemExit(f"{answer.request.method} {answer.request.url} answered {answer.status_code}: {answer.text[:300]}")
    return {"per_s": round(count / (time.perf_counter() - started), 1),
            "sandbox_cpu_ms": round((served.cpu_seconds() - cpu) * 1000 / count, 2),
            "client_cpu_ms": round((time.process_time() - client_cpu) * 1000 / count, 2)}


def run(numbers: int, patches: int, pages: int, state: Path | None) -> dict[str, dict[str, float]]:
    options = ["--generate-numbers", str(numbers), *(["--state", str(state)] if state is not None else [])]
    with sandbox_process(*options) as served, httpx.Client(base_url=served.url, timeout=REQUEST_TIMEOUT,
                                                           headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        ids = _ids(client, numbers)
        last_page = max(1, numbers // PAGE)
        patch = _rate(served, patches, lambda i: client.patch(f"/phone_numbers/{ids[i % len(ids)]}",
                                                              json={"tags": [f"t{i}"]}))
        page = _rate(served, pages, lambda i: client.get("/phone_numbers", params={"page[size]": PAGE,
                                                                                    "page[number]": i % last_page + 1}))
    return {"patch": patch, "page": page}


def state_cost(memory: dict[str, dict[str, float]], state: dict[str, dict[str, float]]) -> float:
    """What the state file adds to a PATCH, as a share of the in-memory sandbox's CPU per PATCH (unlike the
    rates, this holds when other work shares the machine)."""
    return state["patch"]["sandbox_cpu_ms"] / memory["patch"]["sandbox_cpu_ms"] - 1


def goals(memory: dict[str, dict[str, float]], state: dict[str, dict[str, float]]) -> dict[str, bool]:
    return {
        f"PATCH >= {GOALS['patches_per_s']:g}/s": memory["patch"]["per_s"] >= GOALS["patches_per_s"],
        f"pages >= {GOALS['pages_per_s']:g}/s": memory["page"]["per_s"] >= GOALS["pages_per_s"],
        f"state file costs <= {GOALS['state_cost']:.0%}": state_cost(memory, state) <= GOALS["state_cost"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=2000, help="phone numbers in the generated account")
    # Enough requests for the sandbox's CPU per request to be read in whole clock ticks (10 ms) to a few percent.
    parser.add_argument("--patches", type=int, default=2000, help="single-number PATCHes to send")
    parser.add_argument("--pages", type=int, default=1000, help="list pages of 250 numbers to read")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="telnyx-bench-") as work:
        memory = run(options.numbers, options.patches, options.pages, None)
        state = run(options.numbers, options.patches, options.pages, Path(work) / "state.json")
    print(f"Sandbox in its own process, {options.numbers} numbers, one client, sequential requests")
    print(f"{'':<11} {'request':<6} {'per s':>7} {'sandbox CPU ms':>15} {'client CPU ms':>14} {'idle bound /s':>14}")
    for name, result in (("memory", memory), ("state file", state)):
        for what, row in result.items():
            bound = 1000 / (row["sandbox_cpu_ms"] + row["client_cpu_ms"])
            print(f"{name:<11} {what:<6} {row['per_s']:>7} {row['sandbox_cpu_ms']:>15} {row['client_cpu_ms']:>14} {bound:>14.0f}")
    print(f"the state file adds {state_cost(memory, state):.0%} to the sandbox's CPU per PATCH; "
          "'idle bound' is the rate the two CPU figures allow when nothing else runs")
    met = goals(memory, state)
    print("goals: " + ", ".join(f"{k}: {'met' if v else 'NOT MET'}" for k, v in met.items()))
    conditions = {"numbers": options.numbers, "patches": options.patches, "pages": options.pages,
                  "cpus": os.cpu_count(), "python": sys.version.split()[0]}
    print(json.dumps({"benchmark": "sandbox", "conditions": conditions, "memory": memory, "state_file": state,
                      "goals": met}, sort_keys=True))


if __name__ == "__main__":
    main()
