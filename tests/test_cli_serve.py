"""`telnyx-reconciler serve` as a team runs it: the real command in its own process, a sandbox account
delivering signed webhooks to it, its JSON decision lines on standard error, a config broken on disk and
SIGHUP (the old config stays), a clean stop on SIGTERM; and the refusals before it starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from inbox import loopback_inbox
from support import API_KEY, Account, served, write_config
from test_serve import CHURNED, POLICY, VIP, _seed

from reconciler.sandbox import Sandbox
from reconciler.sandbox.webhooks import WebhookSender, attach, new_private_key
from reconciler.serve.signature import public_key, verify

WAIT = 60.0  # seconds: generous, for a loaded machine; a pass returns as soon as the line is there


class Process:
    """The command's process, and its standard error read line by line as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.popen = subprocess.Popen([sys.executable, "-m", "reconciler", *args], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, text: str) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            found = [line for line in list(self.lines) if text in line]
            if found:
                return found[-1]
            assert self.popen.poll() is None, "\n".join(self.lines)
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r} in:\n" + "\n".join(self.lines))

    def decisions(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(self.lines) if line.startswith("{") and '"outcome"' in line]

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        code = self.popen.wait(WAIT)
        self._reader.join(5)
        return code


@pytest.fixture
def account() -> Iterator[Account]:
    with served(Sandbox(api_key=API_KEY, seed=_seed())) as live:
        yield live


def _wait_status(account: Account, order: str, status: str) -> None:
    deadline = time.monotonic() + WAIT
    while account.sandbox.state.peek("portouts", order)["status"] != status:  # type: ignore[index]
        assert time.monotonic() < deadline, f"order {order} never became {status}"
        time.sleep(0.05)


def _wait_for_first_catch_up(base: str) -> None:
    deadline = time.monotonic() + WAIT
    while httpx.get(f"{base}/healthz", timeout=5).json()["catch_up"].get("ok") is None:
        assert time.monotonic() < deadline, "the catch-up at start never finished"
        time.sleep(0.05)


def _open(account: Account, number: str, key: str) -> str:
    return str(account.sandbox.add("portouts", {"phone_numbers": [number], "carrier_name": "Rival Mobile",
                                                "support_key": key})["id"])


def test_serve_answers_keeps_the_old_config_when_the_new_one_is_broken_and_stops_cleanly(
        account: Account, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    write_config(config, "portouts.yaml", POLICY)
    sender = attach(account.sandbox, WebhookSender("http://127.0.0.1:9/unset", new_private_key()))
    env = {**os.environ, "TELNYX_API_KEY": API_KEY, "TELNYX_BASE_URL": account.url,
           "TELNYX_PUBLIC_KEY": sender.public_key}
    receiver = Process(["serve", str(config), "--port", "0", "--catch-up-seconds", "60",
                        "--memory-file", str(tmp_path / "serve.json")], env)
    try:
        ready = receiver.wait_line("Receiving port-out webhooks on ")
        base = ready.split(" on ", 1)[1].split("/webhooks/telnyx", 1)[0]
        sender.url = f"{base}/webhooks/telnyx"
        _wait_for_first_catch_up(base)  # else an order opened now may be found by it before its webhook arrives
        vip = _open(account, VIP, "SK-VIP")
        _wait_status(account, vip, "rejected-pending")
        health = httpx.get(f"{base}/healthz", timeout=5).json()
        assert health["status"] == "ok" and health["catch_up"]["ok"] is True

        (config / "portouts.yaml").write_text(POLICY.replace("action: authorize", "action: shrug"))
        receiver.popen.send_signal(signal.SIGHUP)
        assert "portouts.yaml" in receiver.wait_line("config reload refused")
        churned = _open(account, CHURNED, "SK-CHURN")
        _wait_status(account, churned, "authorized")  # by the config loaded at start
    finally:
        code = receiver.stop()
        sender.close()
    assert code == 0, "\n".join(receiver.lines)
    outcomes = {(d["support_key"], d["outcome"], d["source"]) for d in receiver.decisions()}
    assert {("SK-VIP", "answered", "webhook"), ("SK-CHURN", "answered", "webhook")} <= outcomes
    assert all(line.startswith("{") for line in receiver.lines[1:]), receiver.lines
    assert API_KEY not in "\n".join(receiver.lines)


def test_serve_refuses_to_start_without_a_public_key_or_a_policy(account: Account, tmp_path: Path) -> None:
    write_config(tmp_path, "portouts.yaml", POLICY)
    result = account.run("serve", str(tmp_path), env={"TELNYX_PUBLIC_KEY": ""})
    assert result.exit_code == 1 and "TELNYX_PUBLIC_KEY" in result.output and "Traceback" not in result.output
    key = WebhookSender("http://127.0.0.1:9/unset", new_private_key())
    key.close()
    other = tmp_path / "nopolicy"
    other.mkdir()
    write_config(other, "billing.yaml", "billing_groups:\n  - name: Ops\n")
    result = account.run("serve", str(other), env={"TELNYX_PUBLIC_KEY": key.public_key})
    assert result.exit_code == 1 and "has no portout_policy" in result.output
    memory = tmp_path / "memory.json"
    memory.write_text("[1, 2")
    result = account.run("serve", str(tmp_path), "--memory-file", str(memory), env={"TELNYX_PUBLIC_KEY": key.public_key})
    assert result.exit_code == 1 and f"{memory}: not JSON" in result.output and "Traceback" not in result.output
    assert account.request_count() == 0


def test_sandbox_command_delivers_webhooks_signed_with_the_key_it_prints(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("portouts:\n  - phone_numbers: ['+13125550101']\n    carrier_name: Rival Mobile\n")
    with loopback_inbox("/webhooks/telnyx") as inbox:
        sandbox = Process(["sandbox", "--port", "0", "--seed", str(seed), "--webhook-url", inbox.url], dict(os.environ))
        try:
            public = receiver_key(sandbox.wait_line("export TELNYX_PUBLIC_KEY="))
            base = sandbox.wait_line("export TELNYX_BASE_URL=").split("=", 1)[1]
            headers = {"Authorization": "Bearer sandbox-key"}
            [order] = httpx.get(f"{base}/portouts", headers=headers, timeout=5).json()["data"]
            httpx.patch(f"{base}/portouts/{order['id']}/authorized", json={"reason": "ok"}, headers=headers,
                        timeout=5).raise_for_status()
            deadline = time.monotonic() + WAIT
            while not inbox.received and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            sandbox.popen.send_signal(signal.SIGINT)
            assert sandbox.popen.wait(WAIT) == 0
    [(headers_in, body)] = inbox.received
    verify(public, headers_in, body, time.time())  # raises unless signed by the printed key
    assert json.loads(body)["data"]["payload"]["status"] == "authorized"


def receiver_key(line: str) -> Any:
    return public_key(line.split("=", 1)[1])


def test_help_does_not_load_the_receiver_stack() -> None:
    code = ("import sys; from reconciler.cli import cli; "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'cryptography') if m in sys.modules))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "[]"


def test_the_live_benchmark_runs_at_a_small_size() -> None:
    """benchmarks/portout_live.py end to end, small: every order answered once, dropped ones by the catch-up."""
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "portout_live.py"
    run = subprocess.run([sys.executable, str(script), "--orders", "6", "--spread-seconds", "1", "--catch-up-seconds",
                          "2", "--drop-rate", "0.4", "--duplicate-rate", "0.4", "--seed", "5", "--settle-seconds", "2"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["answered"] == 6 and result["double_answers"] == 0
    assert result["answered_by_webhook"] + result["answered_by_catch_up"] == 6
    assert result["answered_by_catch_up"] >= result["dropped_deliveries"]
