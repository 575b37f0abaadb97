"""Phone numbers at account scale: requests, time and memory of `plan` and `apply` against the sandbox.

    .venv/bin/python benchmarks/phone_numbers.py [--sizes 1000,10000,100000] [--latency-ms 20]

For each size N the script serves a generated account of N numbers from a sandbox in its own process
(`telnyx-reconciler sandbox --generate-numbers N` on 127.0.0.1, a free port, every request delayed by
the latency), exports it, and measures, each in a fresh process of the tool:

- `plan` of the export (no changes): requests sent, against the minimum (the pages, 250 items each, of
  the list endpoints the config needs) and against one request per number;
- `apply` of one tag added to every number: jobs and polls, against the minimum (over the distinct
  resulting tag sets, ceil(numbers / 1,000) jobs) and against one request per number;
- wall time, CPU time (user + system, the whole process) and peak memory (maximum resident set).

The tool runs from cached bytecode, as an installed tool does (PYTHONDONTWRITEBYTECODE is cleared for its
processes; the export, measured first, writes the cache).

It prints a table and then one JSON line. Every wait is bounded and the sandbox is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import AbstractContextManager, redirect_stdout
from pathlib import Path
from typing import Any

from sandbox_process import API_KEY, ROOT, TOOL, Served, sandbox_process

PAGE = 250
JOB = 1000
TAG = "benchmark"
RUN_TIMEOUT = 1800.0
GOALS = {"plan_over_minimum": 0.10, "polls_per_job": 3.0, "cpu_seconds_100k": 5.0, "memory_mb_100k": 600.0,
         "apply_memory_mb_100k": 1024.0}


# --- the sandbox, in its own process -----------------------------------------------------------------


def sandbox(numbers: int, latency_ms: float) -> AbstractContextManager[Served]:
    """Serve a generated account (every request delayed by the latency); yields its base URL; always stopped."""
    return sandbox_process("--generate-numbers", str(numbers), "--latency-ms", str(latency_ms))


# --- the tool, one fresh process per measurement ------------------------------------------------------


def measure(url: str, *args: str) -> dict[str, Any]:
    """Run one CLI command in a fresh process (this script's --child mode); what it sent and cost."""
    env = {**os.environ, "TELNYX_API_KEY": API_KEY, "TELNYX_BASE_URL": url}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=RUN_TIMEOUT)
    if done.returncode != 0:
        raise SystemExit(f"`{' '.join(args)}` failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child(args: list[str]) -> None:
    """Run the CLI in this process, counting the requests the client sends; print one JSON line."""
    from reconciler.cli import cli
    from reconciler.client import TelnyxClient

    sent: Counter[str] = Counter()
    send = TelnyxClient._send

    def counted(self: TelnyxClient, method: str, path: str, params: Any, body: Any) -> Any:
        sent[f"{method} {re.sub(r'/[0-9a-f-]{16,}', '/{id}', path)}"] += 1
        return send(self, method, path, params, body)

    TelnyxClient._send = counted  # type: ignore[method-assign]
    started, code = time.perf_counter(), None
    with open(os.devnull, "w") as quiet, redirect_stdout(quiet):
        try:
            cli.main(args, prog_name="telnyx-reconciler")
        except SystemExit as exit_:
            code = exit_.code
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"exit": code, "wall": time.perf_counter() - started, "cpu": usage.ru_utime + usage.ru_stime,
                      "memory_mb": usage.ru_maxrss / 1024, "requests": dict(sent)}))


# --- one size ----------------------------------------------------------------------------------------


def run_size(numbers: int, latency_ms: float, work: Path) -> dict[str, Any]:
    config, tagged = work / f"exported-{numbers}.yaml", work / f"tagged-{numbers}.yaml"
    with sandbox(numbers, latency_ms) as (url, _):
        exported = measure(url, "export", "--out", str(config))
        document = _load(config)
        planned = measure(url, "plan", str(config), "--detailed-exitcode")
        _add_tag(document, tagged)
        changes = _changes(url, tagged)
        applied = measure(url, "apply", str(tagged), "--auto-approve", "--force")
        after = measure(url, "plan", str(tagged), "--detailed-exitcode")
    return {"numbers": numbers, "export": _cost(exported), "plan": _plan_figures(numbers, document, planned),
            "apply": _apply_figures(changes, applied), "plan_after_apply_exit": after["exit"]}


def _load(path: Path) -> Any:
    import yaml_rs

    return yaml_rs.loads(path.read_text(encoding="utf-8"))


def _add_tag(document: dict[str, Any], path: Path) -> None:
    from reconciler.yamlio import dumps

    for entry in numbers_of(document):
        entry["tags"] = sorted({*entry.get("tags", ()), TAG})
    path.write_text(dumps(document), encoding="utf-8")


def _changes(url: str, config: Path) -> list[dict[str, Any]]:
    """The plan apply will carry out, read from `plan --format json` (not measured)."""
    env = {**os.environ, "TELNYX_API_KEY": API_KEY, "TELNYX_BASE_URL": url}
    done = subprocess.run([*TOOL, "plan", str(config), "--format", "json", "--force"], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=RUN_TIMEOUT)
    if done.returncode != 0:
        raise SystemExit(f"planning {config} failed:\n{done.stderr[-3000:]}")
    return [c for c in json.loads(done.stdout)["changes"] if c["kind"] == "phone_numbers"]


def numbers_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The phone number entries of an export (a list, or `entries:` beside `defaults:`)."""
    block = document["phone_numbers"]
    return block["entries"] if isinstance(block, dict) else block


def _cost(run: dict[str, Any]) -> dict[str, Any]:
    return {"requests": sum(run["requests"].values()), "wall_s": round(run["wall"], 2), "cpu_s": round(run["cpu"], 2),
            "memory_mb": round(run["memory_mb"])}


def _plan_figures(numbers: int, document: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """The minimum: every page of each list the config needs (numbers; voice settings or messaging
    products only when an entry sets them; billing groups and addresses, whose names entries use)."""
    entries = numbers_of(document)
    number_lists = 1 + any("voice" in e for e in entries) + any("messaging_product" in e.get("messaging", {}) for e in entries)
    minimum = number_lists * math.ceil(numbers / PAGE) + 2
    return {**_cost(run), "exit": run["exit"], "minimum": minimum, "per_number": numbers,
            "by_endpoint": run["requests"]}


def _apply_figures(changes: list[dict[str, Any]], run: dict[str, Any]) -> dict[str, Any]:
    tag_sets = Counter(tuple(c["after"]["tags"]) for c in changes)
    minimum_jobs = sum(math.ceil(count / JOB) for count in tag_sets.values())
    jobs = sum(n for k, n in run["requests"].items() if k.startswith("POST /phone_numbers/jobs/"))
    polls = sum(n for k, n in run["requests"].items() if k.startswith("GET /phone_numbers/jobs"))
    return {**_cost(run), "exit": run["exit"], "changed": len(changes), "tag_sets": len(tag_sets), "jobs": jobs,
            "polls": polls, "minimum_jobs": minimum_jobs, "writes": jobs + polls, "per_number": len(changes)}


# --- report ------------------------------------------------------------------------------------------


def goals(result: dict[str, Any]) -> dict[str, bool]:
    plan, apply = result["plan"], result["apply"]
    met = {
        "plan within 10% of the minimum": plan["requests"] <= plan["minimum"] * (1 + GOALS["plan_over_minimum"]),
        "apply jobs equal the minimum": apply["jobs"] == apply["minimum_jobs"],
        "polls per job <= 3": apply["polls"] <= GOALS["polls_per_job"] * max(apply["jobs"], 1),
        "plan clean after apply": result["plan_after_apply_exit"] == 0 and plan["exit"] == 0,
    }
    if result["numbers"] >= 100_000:
        met["plan CPU < 5 s"] = plan["cpu_s"] < GOALS["cpu_seconds_100k"]
        met["plan memory < 600 MB"] = plan["memory_mb"] < GOALS["memory_mb_100k"]
        met["apply memory < 1 GB"] = apply["memory_mb"] < GOALS["apply_memory_mb_100k"]
    return met


def table(results: list[dict[str, Any]], latency_ms: float) -> str:
    head = (f"{'N':>8} {'step':<6} {'requests':>9} {'minimum':>8} {'per-number':>11} {'jobs':>5} {'polls':>6} "
            f"{'wall s':>7} {'CPU s':>6} {'peak MB':>8}")
    lines = [f"Phone numbers against the sandbox in its own process, {latency_ms:g} ms per request", head]
    for r in results:
        p, a = r["plan"], r["apply"]
        lines.append(f"{r['numbers']:>8} {'plan':<6} {p['requests']:>9} {p['minimum']:>8} {p['per_number']:>11} "
                     f"{'':>5} {'':>6} {p['wall_s']:>7} {p['cpu_s']:>6} {p['memory_mb']:>8}")
        lines.append(f"{'':>8} {'apply':<6} {a['writes']:>9} {a['minimum_jobs']:>8} {a['per_number']:>11} "
                     f"{a['jobs']:>5} {a['polls']:>6} {a['wall_s']:>7} {a['cpu_s']:>6} {a['memory_mb']:>8}")
        lines.append(f"{'':>8} goals: " + ", ".join(f"{k}: {'met' if v else 'NOT MET'}" for k, v in goals(r).items()))
    lines.append("apply `requests` are jobs + polls; its `minimum` is the minimum number of jobs "
                 "(the plan that precedes the apply reads what `plan` reads).")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated numbers of phone numbers")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="added by the sandbox to every request")
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",") if s.strip()]
    with tempfile.TemporaryDirectory(prefix="telnyx-bench-") as work:
        results = [run_size(n, options.latency_ms, Path(work)) for n in sizes]
    print(table(results, options.latency_ms))
    conditions = {"latency_ms": options.latency_ms, "cpus": os.cpu_count(), "python": sys.version.split()[0]}
    print(json.dumps({"benchmark": "phone_numbers", "conditions": conditions, "results": results,
                      "goals": [goals(r) for r in results]}, sort_keys=True))


if __name__ == "__main__":
    main()
