"""A user's script against the sandbox: the official `telnyx` SDK, 8 threads, tagging every active number.

    .venv/bin/python benchmarks/sandbox_sdk.py [--numbers 2000] [--threads 8] [--state]

The script serves a generated account of N numbers from a sandbox in its own process
(`telnyx-reconciler sandbox --generate-numbers N` on 127.0.0.1, a free port, no added latency; with
`--state`, a state file in a temporary directory), lists the numbers through the SDK (pages of 250),
then has `--threads` threads share one SDK client and send `phone_numbers.update(id, tags=[...])` for
every active number. It prints the wall time of the updates, updates per second and the sandbox's CPU
per update, then one JSON line. The SDK retries nothing (`max_retries=0`): any failed update stops the
run with its error. Every wait is bounded and the sandbox is stopped at the end.

Measured on a shared 2-core machine (load average 3 to 5.5 from other work), telnyx 4.189.0, defaults,
five runs: 1,968 numbers tagged in 2.42 to 2.67 s (median 2.55 s), 0.40 to 0.48 ms of sandbox CPU each.
A script doing the same took 210 s while every answer stalled about 40 ms on the client's delayed ACK.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import telnyx
from sandbox_process import API_KEY, sandbox_process

PAGE = 250
REQUEST_TIMEOUT = 30.0


def active_ids(sdk: telnyx.Telnyx) -> list[str]:
    return [n.id for n in sdk.phone_numbers.list(page_size=PAGE) if n.id and n.status == "active"]


def tag_all(sdk: telnyx.Telnyx, ids: list[str], threads: int) -> float:
    """Seconds to tag every number in `ids`, `threads` at a time; raises on the first failure."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        updated = list(pool.map(lambda i: sdk.phone_numbers.update(ids[i], tags=["sdk", f"n{i}"]), range(len(ids))))
    elapsed = time.perf_counter() - started
    if any(answer.data is None or answer.data.tags != ["sdk", f"n{i}"] for i, answer in enumerate(updated)):
        raise SystemExit("an update did not answer with the tags it set")
    return elapsed


def run(numbers: int, threads: int, state: Path | None) -> dict[str, float]:
    options = ["--generate-numbers", str(numbers), *(["--state", str(state)] if state is not None else [])]
    with sandbox_process(*options) as served, telnyx.Telnyx(api_key=API_KEY, base_url=served.url, max_retries=0,
                                                           timeout=REQUEST_TIMEOUT) as sdk:
        ids = active_ids(sdk)
        cpu = served.cpu_seconds()
        seconds = tag_all(sdk, ids, threads)
        sandbox_cpu = served.cpu_seconds() - cpu
    return {"updates": len(ids), "seconds": round(seconds, 2), "per_s": round(len(ids) / seconds, 1),
            "sandbox_cpu_ms": round(sandbox_cpu * 1000 / len(ids), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=2000, help="phone numbers in the generated account")
    parser.add_argument("--threads", type=int, default=8, help="threads sharing the SDK client")
    parser.add_argument("--state", action="store_true", help="serve with a state file (in a temporary directory)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="telnyx-bench-") as work:
        result = run(options.numbers, options.threads, Path(work) / "state.json" if options.state else None)
    where = "with a state file" if options.state else "in memory"
    print(f"telnyx SDK {telnyx.__version__}, {options.threads} threads, sandbox in its own process {where}: "
          f"{result['updates']:.0f} numbers tagged in {result['seconds']} s ({result['per_s']}/s, "
          f"{result['sandbox_cpu_ms']} ms of sandbox CPU each)")
    conditions = {"numbers": options.numbers, "threads": options.threads, "state_file": options.state,
                  "cpus": os.cpu_count(), "python": sys.version.split()[0], "telnyx": telnyx.__version__}
    print(json.dumps({"benchmark": "sandbox_sdk", "conditions": conditions, "result": result}, sort_keys=True))


if __name__ == "__main__":
    main()
