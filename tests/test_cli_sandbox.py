"""`sandbox` serves a persistent account over loopback; `demo` runs the whole loop in one process."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli

SCRIPT = str(Path(sys.executable).with_name("telnyx-reconciler"))
ROOT = Path(__file__).resolve().parent.parent


def first_line(stream, timeout: float = 20.0) -> str:  # type: ignore[no-untyped-def]
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert box, "the sandbox did not report its address in time"
    return box[0]


@contextmanager
def sandbox_process(*args: str) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if k != "TELNYX_API_KEY"}
    process = subprocess.Popen(
        [SCRIPT, "sandbox", "--port", "0", *args], stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    try:
        match = re.search(r"(http://127\.0\.0\.1:\d+/v2)", first_line(process.stderr))
        assert match, "no URL in the sandbox's first line"
        yield match.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TELNYX_API_KEY": "sandbox-key", "TELNYX_BASE_URL": url}
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)


def test_the_sandbox_command_keeps_the_account_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "account.json"
    config = str(shutil.copytree(ROOT / "examples" / "config", tmp_path / "config"))  # apply writes a state file
    with sandbox_process("--state", str(state), "--seed", "examples/sandbox-seed.yaml") as url:
        assert run(url, "plan", config, "--detailed-exitcode").returncode == 2
        applied = run(url, "apply", config, "--auto-approve")
        assert applied.returncode == 0, applied.stderr
    assert state.exists()
    with sandbox_process("--state", str(state)) as url:
        again = run(url, "plan", config, "--detailed-exitcode")
        assert again.returncode == 0, again.stdout + again.stderr


def test_the_sandbox_refuses_a_wrong_key(tmp_path: Path) -> None:
    with sandbox_process() as url:
        env = {**os.environ, "TELNYX_API_KEY": "not-the-key", "TELNYX_BASE_URL": url}
        result = subprocess.run([SCRIPT, "export"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1 and "HTTP 401" in result.stderr


def test_the_demo_shows_plan_apply_no_changes_and_drift_undone(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("Plan: 3 to create, 1 to update, 2 to replace, 1 to delete.") < out.index("== 2. apply")
    assert "No changes: the account matches the config." in out.split("== 3.")[1]
    assert 'name: "Renamed in the portal" -> "Okta"' in out.split("== 4.")[1]
    assert "No drift: the account matches the config." in out.split("== 5.")[1]
    decided = out.split("== 6.")[1].split("== 7.")[0]
    assert "? portout_policy[DEMO-UNKNOWN]  manual" in decided
    assert "~ portout_policy[DEMO-VIP]  (update: reject" in decided and "~ portout_policy[DEMO-CHURNED]  (update: authorize" in decided
    assert "No drift to undo; 1 item(s) above wait for a person." in out.split("== 7.")[1]
    rotated = out.split("== 8.")[1]
    assert "-/+ integration_secrets[demo-crm-token]  (delete-before-create: value changed)" in rotated
    assert rotated.rstrip().count("No changes: the account matches the config.") == 2
