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
from support import API_KEY, Account, served, write_config
from test_serve import CHURNED, POLICY, VIP, _seed

from reconciler.sandbox import Sandbox
from reconciler.sandbox.webhooks import WebhookSender, attach, new_private_key

WAIT = 20.0


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
    assert account.request_count() == 0


def test_help_does_not_load_the_receiver_stack() -> None:
    code = ("import sys; from reconciler.cli import cli; "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'cryptography') if m in sys.modules))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "[]"
