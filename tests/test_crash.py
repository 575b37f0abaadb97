"""Crashes, interrupts and concurrent runs, with real processes and real signals.

The CLI runs in a subprocess against a sandbox served by the test. A gate in the sandbox holds one write
request in flight, so the test knows exactly what was done when it sends a signal (or a second apply)."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from support import API_KEY, ROOT, WRITE_METHODS, Account, served, write_config

from reconciler.errors import ReconcilerError
from reconciler.lock import held
from reconciler.sandbox import Sandbox, SandboxResponse
from reconciler.state import load_fingerprints

GROUPS = [f"Team {n}" for n in range(1, 7)]
SECRETS = ["alpha", "bravo"]
CONFIG = "integration_secrets:\n" + "".join(
    f"  - identifier: {name}\n    type: bearer\n    token: ${{env:TOKEN}}\n" for name in SECRETS
) + "billing_groups:\n" + "".join(f"  - name: {name}\n" for name in GROUPS)
TOTAL = len(GROUPS) + len(SECRETS)
TOKEN = "tok-crash-test-5b7e1d-secret"
WAIT = 60  # seconds: a ceiling on every wait below, never reached when things work


class Gate:
    """Holds the n-th write request before the sandbox sees it, until released."""

    def __init__(self, sandbox: Sandbox, nth: int, only: str | None = None) -> None:
        self.nth, self.writes = nth, 0  # with `only`, the n-th write of that method is held
        self.arrived, self.released = threading.Event(), threading.Event()
        self._lock = threading.Lock()
        handle = sandbox.handle

        def gated(method: str, path: str, query: Sequence[tuple[str, str]], headers: Mapping[str, str], body: bytes) -> SandboxResponse:
            if method in WRITE_METHODS and only in (None, method):
                with self._lock:
                    self.writes += 1
                    held = self.writes == self.nth
                if held:
                    self.arrived.set()
                    self.released.wait(WAIT)
            return handle(method, path, query, headers, body)

        sandbox.handle = gated  # type: ignore[method-assign]

    def wait(self) -> None:
        assert self.arrived.wait(WAIT), "the gated request never came"


@pytest.fixture
def account(tmp_path: Path) -> Iterator[Account]:
    with served(Sandbox(api_key=API_KEY)) as the_account:
        yield the_account


def start_apply(account: Account, config: Path, *extra: str) -> subprocess.Popen[str]:
    environment = {**os.environ, "TELNYX_API_KEY": API_KEY, "TELNYX_BASE_URL": account.url, "TOKEN": TOKEN}
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", str(config), "--auto-approve", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment, cwd=ROOT,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=WAIT)
    return process.returncode, out + err


def read_until(process: subprocess.Popen[str], text: str) -> str:
    """What the process wrote to stderr up to and including the line holding `text` (bounded by WAIT)."""
    assert process.stderr is not None
    seen, deadline = "", time.monotonic() + WAIT
    while text not in seen:
        assert time.monotonic() < deadline, f"no {text!r} in {seen!r}"
        if select.select([process.stderr], [], [], 0.1)[0]:
            line = process.stderr.readline()
            assert line, f"stderr closed before {text!r}: {seen!r}"
            seen += line
    return seen


def recorded_secrets(config: Path) -> set[str]:
    state = json.loads((config.parent / "telnyx-reconciler.state.json").read_text())
    return set(state["fingerprints"].get("integration_secrets", {}))


def live_names(account: Account) -> list[str]:
    return sorted(g["name"] for g in account.sandbox.state.all("billing_groups"))


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_after_the_request_in_flight_and_reports_what_was_done(
    account: Account, tmp_path: Path, signal_number: signal.Signals
) -> None:
    config = write_config(tmp_path, "telnyx.yaml", CONFIG)
    gate = Gate(account.sandbox, nth=len(GROUPS) + 1)  # the groups are written first; the first secret is held
    process = start_apply(account, config)
    gate.wait()
    process.send_signal(signal_number)
    time.sleep(0.5)  # the signal is handled while the request is in flight
    gate.released.set()
    code, output = finish(process)

    assert code == 1, output
    assert f"Error: apply stopped: interrupted ({signal_number.name})" in output
    assert "nothing was applied" not in output
    assert output.count("applied:     +") == TOTAL - 1 and output.count("not applied: +") == 1
    assert f"{TOTAL - 1} change(s) applied, 0 failed, 1 not tried" in output
    assert gate.writes == TOTAL - 1  # nothing was sent after the stop
    assert recorded_secrets(config) == {"alpha"}  # the request in flight was recorded
    assert TOKEN not in output

    rerun = account.run("apply", str(config), "--auto-approve", env={"TOKEN": TOKEN})
    assert rerun.exit_code == 0, rerun.output
    assert "1 to create" in rerun.output and "-/+" not in rerun.output  # the secret written is known, not replaced
    assert live_names(account) == sorted(GROUPS)


def test_a_killed_apply_has_saved_each_fingerprint_as_it_was_written(account: Account, tmp_path: Path) -> None:
    config = write_config(tmp_path, "telnyx.yaml", CONFIG)
    gate = Gate(account.sandbox, nth=TOTAL)  # the second secret is in flight
    process = start_apply(account, config)
    gate.wait()
    process.kill()
    process.communicate(timeout=WAIT)
    gate.released.set()

    assert recorded_secrets(config) == {"alpha"}
    replan = account.run("plan", str(config), env={"TOKEN": TOKEN})
    assert replan.exit_code == 0, replan.output
    assert "integration_secrets[alpha]" not in replan.output  # known: not replaced once more


ADDRESS = """addresses:
  - name: hq
    first_name: Ada
    last_name: Lovelace
    business_name: Example
    street_address: {street}
    locality: Austin
    administrative_area: TX
    postal_code: "78701"
    country_code: US
"""


def live_addresses(account: Account) -> list[str]:
    return sorted(a["id"] for a in account.sandbox.state.all("addresses") if not a.get("deleted_at"))


def test_an_apply_killed_after_the_create_of_a_replace_converges_with_one_more(account: Account, tmp_path: Path) -> None:
    config = write_config(tmp_path, "telnyx.yaml", ADDRESS.format(street="1 Main St"))
    assert account.run("apply", str(config), "--auto-approve").exit_code == 0
    [old] = live_addresses(account)
    config.write_text(ADDRESS.format(street="2 Main St"))  # a replace: the new address is created first
    gate = Gate(account.sandbox, nth=1, only="DELETE")  # the create is done; the old one's delete is held
    process = start_apply(account, config)
    gate.wait()
    process.kill()
    process.communicate(timeout=WAIT)
    try:
        assert len(live_addresses(account)) == 2 and old in live_addresses(account)
        state = json.loads((tmp_path / "telnyx-reconciler.state.json").read_text())
        assert state["leftovers"] == {"addresses": {old: "hq"}}

        replan = account.run("plan", str(config))  # addresses are not pruned
        assert replan.exit_code == 0 and "- addresses[hq]" in replan.output, replan.output
        assert "leftover of an interrupted replace" in replan.output
        assert account.run("apply", str(config), "--auto-approve").exit_code == 0
        assert old not in live_addresses(account) and len(live_addresses(account)) == 1
        assert account.run("plan", str(config), "--detailed-exitcode").exit_code == 0
        assert "leftovers" not in json.loads((tmp_path / "telnyx-reconciler.state.json").read_text())
    finally:
        gate.released.set()  # the killed apply's delete reaches the account only now


def test_recorded_leftovers_are_merged_on_save(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    ours, theirs = load_fingerprints(path, b"k"), load_fingerprints(path, b"k")
    theirs.record_leftover("addresses", "a-1", "hq")
    theirs.save()
    ours.record_leftover("addresses", "a-2", "hq")
    ours.save()
    assert load_fingerprints(path, b"").leftover_ids("addresses") == {"a-1", "a-2"}
    theirs.forget_leftover("addresses", "a-1")
    theirs.save()
    assert load_fingerprints(path, b"").leftover_ids("addresses") == {"a-2"}
    assert load_fingerprints(path, b"").leftover_ids("billing_groups") == frozenset()


def test_a_second_apply_is_refused_naming_the_holder_and_nothing_is_duplicated(account: Account, tmp_path: Path) -> None:
    config = write_config(tmp_path, "telnyx.yaml", "billing_groups:\n" + "".join(f"  - name: {n}\n" for n in GROUPS))
    gate = Gate(account.sandbox, nth=1)
    first = start_apply(account, config)
    gate.wait()
    second = account.run("apply", str(config), "--auto-approve")
    gate.released.set()
    code, output = finish(first)

    assert code == 0, output
    assert second.exit_code == 1
    assert f"pid {first.pid} on host {socket.gethostname()}" in second.output
    assert "--lock-timeout" in second.output
    assert live_names(account) == sorted(GROUPS)
    assert (tmp_path / "telnyx-reconciler.lock").exists()  # beside the config, which has no state file


def test_a_second_apply_with_a_lock_timeout_waits_then_finds_nothing_to_do(account: Account, tmp_path: Path) -> None:
    config = write_config(tmp_path, "telnyx.yaml", CONFIG)
    gate = Gate(account.sandbox, nth=1)
    first = start_apply(account, config)
    gate.wait()
    before = account.request_count()
    second = start_apply(account, config, "--lock-timeout", "1m")
    time.sleep(2)
    assert second.poll() is None and account.request_count() == before  # waiting, not reading the account
    gate.released.set()

    assert finish(first)[0] == 0
    code, output = finish(second)
    assert code == 0, output
    assert "No changes: the account matches the config." in output, output
    assert live_names(account) == sorted(GROUPS)
    assert sorted(s["identifier"] for s in account.sandbox.state.all("integration_secrets")) == SECRETS


def test_a_lock_left_by_a_killed_apply_blocks_nothing(account: Account, tmp_path: Path) -> None:
    config = write_config(tmp_path, "telnyx.yaml", "billing_groups:\n  - name: Ops\n")
    gate = Gate(account.sandbox, nth=1)
    process = start_apply(account, config)
    gate.wait()
    process.kill()
    process.communicate(timeout=WAIT)
    gate.released.set()
    assert (tmp_path / "telnyx-reconciler.lock").read_text()  # the dead holder's name is still in the file

    again = account.run("apply", str(config), "--auto-approve")
    assert again.exit_code == 0, again.output
    assert live_names(account) == ["Ops"]


def test_a_second_signal_stops_at_once_and_names_the_request_in_flight(account: Account, tmp_path: Path) -> None:
    config = write_config(tmp_path, "telnyx.yaml", CONFIG)
    gate = Gate(account.sandbox, nth=3)
    process = start_apply(account, config)
    gate.wait()
    process.send_signal(signal.SIGTERM)
    heard = read_until(process, "SIGTERM: stopping")  # the first signal is handled before the second is sent
    process.send_signal(signal.SIGINT)
    code, output = finish(process)  # returns while the request is still held
    output = heard + output
    gate.released.set()

    assert code == 1, output
    assert "SIGTERM: stopping after the request in flight" in output
    assert "apply stopped at billing_groups[Team 3]: interrupted" in output
    assert "failed:      + billing_groups[Team 3]: interrupted in flight: it may or may not have taken effect" in output
    assert output.count("applied:     +") == 2 and output.count("not applied: +") == TOTAL - 3
    assert "Traceback" not in output


def test_saving_keeps_what_another_process_recorded_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    ours, theirs = load_fingerprints(path, b"k"), load_fingerprints(path, b"k")
    theirs.record("integration_secrets", "theirs", "id-1", "f1")
    theirs.save()
    ours.record("integration_secrets", "ours", "id-2", "f2")
    ours.forget("integration_secrets", "gone")
    ours.save()
    assert set(load_fingerprints(path, b"k").records["integration_secrets"]) == {"theirs", "ours"}

    theirs.forget("integration_secrets", "theirs")
    theirs.save()
    assert set(load_fingerprints(path, b"k").records["integration_secrets"]) == {"ours"}


def test_saving_is_atomic_and_durable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    first = load_fingerprints(path, b"k")
    first.record("integration_secrets", "a", "id-1", "f1")
    first.save()
    before = path.read_text()
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))

    def crash(source: object, target: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    first.record("integration_secrets", "b", "id-2", "f2")
    with pytest.raises(ReconcilerError, match="cannot be written"):
        first.save()
    assert path.read_text() == before and sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
    assert synced  # the data reached the disk before the rename


def test_a_lock_timeout_waits_that_long_then_refuses(account: Account, tmp_path: Path) -> None:
    config = write_config(tmp_path, "telnyx.yaml", "billing_groups:\n  - name: Ops\n")
    with held(tmp_path / "telnyx-reconciler.lock"):
        started = time.monotonic()
        result = account.run("apply", str(config), "--auto-approve", "--lock-timeout", "1s")
        waited = time.monotonic() - started
    assert result.exit_code == 1
    assert f"after waiting 1s: pid {os.getpid()} on host {socket.gethostname()}" in result.stderr
    assert waited >= 1 and account.request_count() == 0


@pytest.mark.parametrize("value", ["soon", "-1", "5h", "1e9"])
def test_a_lock_timeout_that_is_not_a_duration_is_refused(account: Account, tmp_path: Path, value: str) -> None:
    config = write_config(tmp_path, "telnyx.yaml", "billing_groups:\n  - name: Ops\n")
    result = account.run("apply", str(config), "--auto-approve", "--lock-timeout", value)
    assert result.exit_code == 1 and "is not a duration" in result.stderr
    assert account.request_count() == 0
