"""Integration secrets and other sensitive values, end to end: write-only values that never leak.

The config names secrets only through ${env:...} and ${file:...}. A changed value is recognised by the
keyed fingerprint the tool keeps, replaced, and then planned clean; no output, file or log of any command
holds a secret value or the API key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import API_KEY, ROOT, Account, served, write_config

from reconciler.sandbox import Sandbox

TOKEN = "tok-7f3e9a-very-secret-bearer"
NEW_TOKEN = "tok-rotated-41c2d8-also-secret"
PASSWORD = "pw-9d2b-hunter2-basic"
USERNAME = "svc-user-5e1a"
PIN = "739164"
NEW_PIN = "205813"
NUMBER = "+13125550177"
CONFIG = """\
integration_secrets:
  - identifier: crm-token
    type: bearer
    token: ${env:CRM_TOKEN}
  - identifier: billing-basic
    type: basic
    username: ${env:BILLING_USER}
    password: ${file:billing-password.txt}
phone_numbers:
  defaults:
    external_pin: ${env:PORT_PIN}
  entries:
    - phone_number: "+13125550177"
"""


@pytest.fixture
def secrets_account(tmp_path: Path) -> Iterator[tuple[Account, Path]]:
    (tmp_path / "billing-password.txt").write_text(PASSWORD + "\n")
    config = write_config(tmp_path, "secrets.yaml", CONFIG)
    sandbox = Sandbox(api_key=API_KEY, seed={"phone_numbers": [{"phone_number": NUMBER}]}, job_seconds=0.1)
    with served(sandbox) as account:
        yield account, config


def env(token: str = TOKEN, pin: str = PIN) -> dict[str, str]:
    return {"CRM_TOKEN": token, "BILLING_USER": USERNAME, "PORT_PIN": pin}


def test_a_changed_value_is_a_replace_and_then_plans_clean(secrets_account: tuple[Account, Path]) -> None:
    account, config = secrets_account
    first = account.run("plan", str(config), "--detailed-exitcode", env=env())
    assert first.exit_code == 2 and "2 to create, 1 to update" in first.output
    assert account.run("apply", str(config), "--auto-approve", env=env()).exit_code == 0
    assert (config.parent / "telnyx-reconciler.state.json").exists()
    assert account.run("plan", str(config), "--detailed-exitcode", env=env()).exit_code == 0

    rotated = account.run("plan", str(config), "--detailed-exitcode", env=env(NEW_TOKEN))
    assert rotated.exit_code == 2
    assert "-/+ integration_secrets[crm-token]  (delete-before-create: value changed)" in rotated.output
    assert 'token: "(sensitive)" -> "(sensitive)"' in rotated.output
    assert "billing-basic" not in rotated.output
    assert account.run("apply", str(config), "--auto-approve", env=env(NEW_TOKEN)).exit_code == 0
    assert account.run("plan", str(config), "--detailed-exitcode", env=env(NEW_TOKEN)).exit_code == 0
    live = sorted(s["identifier"] for s in account.sandbox.state.all("integration_secrets"))
    assert live == ["billing-basic", "crm-token"]


def test_a_phone_number_pin_is_set_once_recognised_and_changed(secrets_account: tuple[Account, Path]) -> None:
    account, config = secrets_account
    first = account.run("plan", str(config), "--target", "phone_numbers", env=env())
    assert "external_pin unverified: the API does not show it" in first.output
    assert 'external_pin: null -> "(sensitive)"' in first.output or 'external_pin: "(sensitive)" -> "(sensitive)"' in first.output
    assert account.run("apply", str(config), "--auto-approve", env=env()).exit_code == 0
    [stored] = account.sandbox.state.all("phone_numbers")
    assert stored["external_pin"] == PIN  # the sandbox keeps it, and never shows it
    assert account.run("plan", str(config), "--detailed-exitcode", env=env()).exit_code == 0

    changed = account.run("plan", str(config), env=env(pin=NEW_PIN))
    assert "~ phone_numbers[+13125550177]  (update: external_pin changed)" in changed.output
    assert account.run("apply", str(config), "--auto-approve", env=env(pin=NEW_PIN)).exit_code == 0
    assert account.sandbox.state.all("phone_numbers")[0]["external_pin"] == NEW_PIN
    assert account.run("plan", str(config), "--detailed-exitcode", env=env(pin=NEW_PIN)).exit_code == 0


def test_the_replace_deletes_just_before_it_creates(secrets_account: tuple[Account, Path]) -> None:
    account, config = secrets_account
    account.run("apply", str(config), "--auto-approve", env=env())
    start = len(account.sandbox.requests)
    account.run("apply", str(config), "--auto-approve", env=env(NEW_TOKEN))
    writes = [f"{r.method} {r.path.split('/')[2]}" for r in account.sandbox.requests[start:] if r.method != "GET"]
    assert writes == ["DELETE integration_secrets", "POST integration_secrets"]


def test_without_a_fingerprint_the_value_is_unverified_and_replaced_unless_kept(secrets_account: tuple[Account, Path]) -> None:
    account, config = secrets_account
    account.run("apply", str(config), "--auto-approve", env=env())
    (config.parent / "telnyx-reconciler.state.json").unlink()
    plan = account.run("plan", str(config), env=env())
    assert "value unverified: the tool has no fingerprint" in plan.output and "2 to replace" in plan.output

    kept = config.read_text().replace("    type: bearer\n", "    type: bearer\n    unverified: keep\n")
    config.write_text(kept)
    plan = account.run("plan", str(config), env=env())
    assert "1 to replace" in plan.output
    assert "integration_secrets[crm-token]: value unverified" in plan.output and "unverified: keep" in plan.output


def test_a_fingerprint_taken_for_another_live_secret_does_not_count(secrets_account: tuple[Account, Path]) -> None:
    account, config = secrets_account
    account.run("apply", str(config), "--auto-approve", env=env())
    # someone deletes the secret in the portal and creates it again, with a value the tool never saw
    crm = next(s for s in account.sandbox.state.all("integration_secrets") if s["identifier"] == "crm-token")
    account.sandbox.state.delete("integration_secrets", crm["id"])
    account.sandbox.collections["integration_secrets"].create(
        account.sandbox.state, {"identifier": "crm-token", "type": "bearer", "token": "portal-value"})
    plan = account.run("plan", str(config), env=env())
    assert "integration_secrets[crm-token]  (delete-before-create: value unverified" in plan.output


@pytest.mark.parametrize(
    ("entry", "where", "message"),
    [
        ("  - {identifier: a, type: bearer, token: abc123}\n", ":2:", "token is a secret and is written here as a literal value"),
        ("  - {identifier: a, type: basic, username: '${env:U}'}\n", ":2:", "a basic secret needs password"),
        ("  - {identifier: a, type: bearer, token: '${file:missing.txt}'}\n", ":2:", "cannot read"),
    ],
)
def test_bad_secret_entries_are_errors_with_file_and_line(tmp_path: Path, entry: str, where: str, message: str) -> None:
    config = write_config(tmp_path, "s.yaml", "integration_secrets:\n" + entry)
    sandbox = Sandbox(api_key=API_KEY)
    with sandbox.serve() as url:
        result = Account(sandbox, url).run("plan", str(config), env={"U": "someone"})
    assert result.exit_code == 1
    assert f"{config}{where}" in result.output and message in result.output
    assert "abc123" not in result.output and "Traceback" not in result.output
    assert sandbox.requests == []


def test_no_output_file_or_log_holds_a_secret_or_the_api_key(secrets_account: tuple[Account, Path], tmp_path: Path) -> None:
    account, config = secrets_account
    outputs: list[str] = []

    def run(*args: str, token: str = TOKEN) -> None:
        result = account.run(*args, env=env(token))
        outputs.append(result.output)

    run("validate", str(config))
    for fmt in ("text", "json", "markdown"):
        run("plan", str(config), "--format", fmt)
    planfile = tmp_path / "reviewed.tfplan"
    run("plan", str(config), "--out", str(planfile))
    run("apply", str(planfile))
    run("plan", str(config), "--format", "json", token=NEW_TOKEN)
    run("drift", str(config), "--format", "markdown", token=NEW_TOKEN)
    run("apply", str(config), "--auto-approve", token=NEW_TOKEN)
    exported = tmp_path / "exported.yaml"
    run("export", "--out", str(exported))
    outputs.append(_debug_run(account, config))
    files = [planfile, exported, config.parent / "telnyx-reconciler.state.json"]
    outputs += [path.read_text() for path in files]
    outputs.append(json.dumps(account.sandbox.state.all("integration_secrets")))
    text = "\n".join(outputs)
    assert "crm-token" in text and "(sensitive)" in text  # the outputs are real, not empty
    for secret in (TOKEN, NEW_TOKEN, PASSWORD, USERNAME, PIN, API_KEY):
        assert secret not in text, f"a secret value leaked: {secret[:6]}..."


def _debug_run(account: Account, config: Path) -> str:
    """`--debug apply` in its own process, so that log lines reach the real standard error."""
    environment = {**os.environ, **env("tok-debug-3c9f-secret"), "TELNYX_API_KEY": API_KEY, "TELNYX_BASE_URL": account.url}
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "--debug", "apply", str(config), "--auto-approve"],
        capture_output=True, text=True, env=environment, cwd=ROOT, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "DEBUG reconciler.client" in done.stderr  # the log is on
    assert "tok-debug-3c9f-secret" not in done.stdout + done.stderr
    return done.stdout + done.stderr


def test_a_literal_pin_in_defaults_is_an_error_at_its_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, "n.yaml", 'phone_numbers:\n  defaults:\n    external_pin: "4321"\n  entries:\n    - phone_number: "+13125550177"\n')
    result = Account(Sandbox(api_key=API_KEY), "http://127.0.0.1:9").run("validate", str(config))
    assert result.exit_code == 1
    assert f"{config}:3:" in result.output and "external_pin is a secret" in result.output
    assert "4321" not in result.output
