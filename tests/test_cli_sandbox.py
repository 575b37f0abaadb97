"""`sandbox` serves a persistent account over loopback; `demo` runs the whole loop in one process."""

from __future__ import annotations

import json
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
from support import Account, example_variable_names

from reconciler.cli import cli
from reconciler.cli.sandbox import EXAMPLE_VARIABLES, ROTATED_VARIABLE

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


def test_the_demo_sets_the_variables_the_example_secrets_read() -> None:
    assert sorted(EXAMPLE_VARIABLES) == example_variable_names()
    assert ROTATED_VARIABLE in EXAMPLE_VARIABLES


def test_the_demo_shows_plan_apply_no_changes_and_drift_undone(monkeypatch, account: Account) -> None:  # type: ignore[no-untyped-def]
    summary = json.loads(account.run("plan", str(ROOT / "examples" / "config"), "--format", "json").stdout)["summary"]
    monkeypatch.chdir(ROOT)
    unset = {name: None for name in EXAMPLE_VARIABLES}  # as on a fresh clone: the demo sets its own
    result = CliRunner().invoke(cli, ["demo"], env=unset)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    out = result.stdout
    first = "Plan: {create} to create, {update} to update, {replace} to replace, {delete} to delete.".format(**summary)
    assert out.index(first) < out.index("== 2. apply")
    assert "No changes: the account matches the config." in out.split("== 3.")[1]
    assert 'name: "Renamed in the portal" -> "Okta"' in out.split("== 4.")[1]
    assert "No drift: the account matches the config." in out.split("== 5.")[1]
    decided = out.split("== 6.")[1].split("== 7.")[0]
    assert "? portout_policy[DEMO-UNKNOWN]  manual" in decided
    assert "~ portout_policy[DEMO-VIP]  (update: reject" in decided and "~ portout_policy[DEMO-CHURNED]  (update: authorize" in decided
    assert "No drift to undo; 1 item(s) above wait for a person." in out.split("== 7.")[1]
    rotated = out.split("== 8.")[1]
    assert "-/+ integration_secrets[crm-webhook-token]  (delete-before-create: value changed)" in rotated
    assert "Plan: 0 to create, 0 to update, 1 to replace, 0 to delete." in rotated
    assert rotated.count("No changes: the account matches the config.") == 1
