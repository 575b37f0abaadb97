"""Port-outs answered as they arrive: time from an order's creation to its answer, through `serve`.

    .venv/bin/python benchmarks/portout_live.py [--orders 100] [--spread-seconds 60] [--latency-ms 20]
                                                [--drop-rate 0.05] [--duplicate-rate 0.05] [--catch-up-seconds 30]

Two processes besides this one, all on 127.0.0.1:

- a sandbox account (this script with `--role sandbox`), every request delayed by the latency, delivering
  signed `portout.status_changed` webhooks with the given shares dropped and duplicated; once told to
  start, it opens the orders one by one, evenly over the spread, each for one number tagged `churned`
  (authorized by the policy) or, one in five, `vip` (rejected);
- the receiver: `telnyx-reconciler serve` with examples/config/portouts.yaml, catching up every period.

For each order the sandbox notes the wall time it was opened and the time it left `pending`, every answer
sent for it (a second answer accepted would be a double answer; one refused with 422 is a race lost, done),
and whether its creation event was dropped. The receiver's decision lines say whether the webhook or the
catch-up answered. The script prints a table and one JSON line, and stops both processes: at the end, or
after a bound on the whole run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "sandbox-key"
POLICY = ROOT / "examples" / "config" / "portouts.yaml"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


# --- the sandbox process ------------------------------------------------------------------------------

def run_sandbox(args: argparse.Namespace) -> None:
    """Serve, announce {url, public_key}, open the orders when told, report what happened to them."""
    from reconciler.sandbox import Sandbox
    from reconciler.sandbox.webhooks import WebhookSender, attach, new_private_key

    numbers = [f"+1312555{i:04d}" for i in range(args.orders)]
    seed = {"phone_numbers": [{"phone_number": n, "tags": ["vip" if i % 5 == 0 else "churned"]}
                              for i, n in enumerate(numbers)]}
    sandbox = Sandbox(api_key=API_KEY, seed=seed, latency_ms=args.latency_ms, random_seed=args.seed)
    sender = WebhookSender(args.webhook_url, new_private_key(), args.drop_rate, args.duplicate_rate,
                           random_seed=args.seed)
    answered: dict[str, float] = {}
    announce = sender.announce

    def noting(event: dict[str, Any]) -> None:
        if event["_payload"].get("status") != "pending":
            answered.setdefault(event["portout_id"], time.time())
        announce(event)

    sender.announce = noting  # type: ignore[method-assign]
    attach(sandbox, sender)
    try:
        with sandbox.serve() as url:
            print(json.dumps({"url": url, "public_key": sender.public_key}), flush=True)
            sys.stdin.readline()  # "go"
            opened = _open_orders(sandbox, numbers, args.spread_seconds)
            sys.stdin.readline()  # "report"
            sender.wait_idle(5)
            print(json.dumps(_report(sandbox, sender, opened, answered)), flush=True)
    finally:
        sender.close()


def _open_orders(sandbox: Any, numbers: list[str], spread: float) -> dict[str, float]:
    opened: dict[str, float] = {}
    start = time.monotonic()
    for i, number in enumerate(numbers):
        time.sleep(max(0.0, start + spread * i / len(numbers) - time.monotonic()))
        order = sandbox.add("portouts", {"phone_numbers": [number], "carrier_name": "Rival Mobile", "spid": "987H",
                                         "support_key": f"BENCH-{i:03d}"})
        opened[str(order["id"])] = time.time()
    return opened


def _report(sandbox: Any, sender: Any, opened: dict[str, float], answered: dict[str, float]) -> dict[str, Any]:
    answers: dict[str, list[int]] = defaultdict(list)
    for request in list(sandbox.requests):
        parts = request.path.split("/")
        if request.method == "PATCH" and len(parts) == 5 and parts[3] in opened:
            answers[parts[3]].append(request.status)
    events = {e["id"]: e["portout_id"] for e in sandbox.state.all("portout_events")
              if e["_payload"].get("status") == "pending"}  # the announcements of new orders
    dropped = sorted({events[e] for e in sender.dropped if e in events and events[e] in opened
                      and not any(d.event_id == e for d in sender.deliveries)})
    duplicated = Counter(d.event_id for d in sender.deliveries if d.attempt == 1)
    return {"opened": opened, "answered": answered, "answers": answers, "dropped_orders": dropped,
            "duplicated_events": sum(1 for n in duplicated.values() if n > 1),
            "requests": len(sandbox.requests)}


# --- the driver ---------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Child:
    """A process this script started; its stderr lines are collected as they come."""

    def __init__(self, command: list[str], env: dict[str, str], stdin: bool = False) -> None:
        self.popen = subprocess.Popen(command, env=env, cwd=ROOT, text=True, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)
        self.errors: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.errors.append(line.rstrip("\n"))

    def read_json(self, timeout: float) -> dict[str, Any]:
        found: list[str] = []
        reader = threading.Thread(target=lambda: found.append(self.popen.stdout.readline()),  # type: ignore[union-attr]
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        if not found or not found[0].strip():
            raise RuntimeError("no answer from the sandbox process:\n" + "\n".join(self.errors[-20:]))
        return dict(json.loads(found[0]))

    def say(self, line: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(line + "\n")
        self.popen.stdin.flush()

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in list(self.errors)):
            if time.monotonic() > deadline or self.popen.poll() is not None:
                raise RuntimeError(f"no {text!r} from the receiver:\n" + "\n".join(self.errors[-20:]))
            time.sleep(0.05)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(STOP_TIMEOUT)


def run(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "TELNYX_API_KEY": API_KEY}
    sandbox = Child([sys.executable, __file__, "--role", "sandbox", "--webhook-url",
                     f"http://127.0.0.1:{port}/webhooks/telnyx", *_shared(args)], env, stdin=True)
    receiver: Child | None = None
    try:
        hello = sandbox.read_json(START_TIMEOUT)
        with tempfile.TemporaryDirectory(prefix="portout-live-") as work:
            config = Path(work) / "config"
            config.mkdir()
            (config / "portouts.yaml").write_text(POLICY.read_text())
            receiver = Child([sys.executable, "-m", "reconciler", "serve", str(config), "--port", str(port),
                              "--catch-up-seconds", str(args.catch_up_seconds)],
                             {**env, "TELNYX_BASE_URL": hello["url"], "TELNYX_PUBLIC_KEY": hello["public_key"]})
            receiver.wait_for("Receiving port-out webhooks", START_TIMEOUT)
            sandbox.say("go")
            time.sleep(args.spread_seconds + args.catch_up_seconds + args.settle_seconds)
            sandbox.say("report")
            report = sandbox.read_json(START_TIMEOUT)
            receiver.stop()
            decisions = [json.loads(line) for line in receiver.errors if line.startswith("{") and '"outcome"' in line]
    finally:
        for child in (receiver, sandbox):
            if child is not None:
                child.stop()
    return summarise(args, report, decisions)


def _shared(args: argparse.Namespace) -> list[str]:
    return ["--orders", str(args.orders), "--spread-seconds", str(args.spread_seconds), "--latency-ms",
            str(args.latency_ms), "--drop-rate", str(args.drop_rate), "--duplicate-rate", str(args.duplicate_rate),
            "--seed", str(args.seed)]


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"median": round(statistics.median(ordered), 3), "p95": round(p95, 3), "max": round(ordered[-1], 3)}


def summarise(args: argparse.Namespace, report: dict[str, Any], decisions: list[dict[str, Any]]) -> dict[str, Any]:
    opened, answered = report["opened"], report["answered"]
    dropped = set(report["dropped_orders"])
    latency = {o: answered[o] - opened[o] for o in opened if o in answered}
    by = Counter(d["source"] for d in decisions if d["outcome"] == "answered" and d["order"] in opened)
    accepted = {o: sum(1 for s in statuses if s == 200) for o, statuses in report["answers"].items()}
    delivered = _stats([v for o, v in latency.items() if o not in dropped])
    lost = _stats([v for o, v in latency.items() if o in dropped])
    return {
        "orders": len(opened), "answered": len(latency), "unanswered": len(opened) - len(latency),
        "dropped_deliveries": len(dropped), "duplicated_deliveries": report["duplicated_events"],
        "seconds_delivered": delivered, "seconds_dropped": lost,
        "answered_by_webhook": by.get("webhook", 0), "answered_by_catch_up": by.get("catch-up", 0),
        "double_answers": sum(1 for n in accepted.values() if n > 1),
        "refused_second_answers": sum(len(s) - accepted.get(o, 0) for o, s in report["answers"].items()),
        "sandbox_requests": report["requests"],
        "conditions": {"latency_ms": args.latency_ms, "spread_seconds": args.spread_seconds,
                       "catch_up_seconds": args.catch_up_seconds, "drop_rate": args.drop_rate,
                       "duplicate_rate": args.duplicate_rate, "seed": args.seed},
        "goals_met": {"p95_delivered_under_2s": (delivered["p95"] or 0) < 2.0,
                      "dropped_within_one_catch_up": (lost["max"] or 0) <= args.catch_up_seconds,
                      "no_double_answers": all(n <= 1 for n in accepted.values()),
                      "all_answered": len(latency) == len(opened)},
    }


def show(result: dict[str, Any]) -> None:
    rows = [("orders opened / answered", f"{result['orders']} / {result['answered']}"),
            ("deliveries dropped / duplicated", f"{result['dropped_deliveries']} / {result['duplicated_deliveries']}"),
            ("answered by webhook / catch-up", f"{result['answered_by_webhook']} / {result['answered_by_catch_up']}")]
    for name in ("delivered", "dropped"):
        stats = result[f"seconds_{name}"]
        rows.append((f"creation -> answer, {name} (s)", "median {median}  p95 {p95}  max {max}".format(**stats)))
    rows += [("double answers (refused repeats)", f"{result['double_answers']} ({result['refused_second_answers']})"),
             ("goals met", ", ".join(f"{k}={v}" for k, v in result["goals_met"].items()))]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", choices=("driver", "sandbox"), default="driver", help=argparse.SUPPRESS)
    parser.add_argument("--webhook-url", help=argparse.SUPPRESS)
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--spread-seconds", type=float, default=60.0)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--drop-rate", type=float, default=0.05)
    parser.add_argument("--duplicate-rate", type=float, default=0.05)
    parser.add_argument("--catch-up-seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    parser.add_argument("--settle-seconds", type=float, default=15.0,
                        help="After the last order and one catch-up period, how long to wait for stragglers.")
    args = parser.parse_args()
    if not (1 <= args.orders <= 10_000 and 0 < args.spread_seconds <= 3600 and 1 <= args.catch_up_seconds <= 3600
            and 0 <= args.settle_seconds <= 600):
        parser.error("--orders 1..10000, --spread-seconds up to 3600, --catch-up-seconds 1..3600, "
                     "--settle-seconds up to 600")
    if args.role == "sandbox":
        run_sandbox(args)
    else:
        show(run(args))


if __name__ == "__main__":
    main()
