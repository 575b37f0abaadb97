"""Bad input through the real CLI: exit 1, file and line, what to do, no traceback, and no API call."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml_rs
from support import API_KEY, EXAMPLES, Account, write_config

BAD_CONFIGS = {
    "malformed YAML": ("billing_groups:\n  - name: Ops\n  - name: [oops\n", 3, "invalid YAML"),
    "unknown key": ("access_ips:\n  - ip_address: 203.0.113.9\n    descripton: x\n", 3, "unknown field 'descripton'"),
    "wrong type": ("sso_providers:\n  - short_name: x\n    name: X\n    active: sometimes\n", 4, "active:"),
    "duplicate key": ("billing_groups:\n  - name: A\n    name: B\n", 3, "duplicate key"),
    "duplicate resource": ("billing_groups:\n  - name: A\n  - name: A\n", 3, "defined twice"),
    "undefined env": (
        "reconciler:\n  variables: [RECONCILER_TEST_UNSET]\nbilling_groups:\n  - name: ${env:RECONCILER_TEST_UNSET}\n", 4,
        "RECONCILER_TEST_UNSET is not set",
    ),
    "invalid IP": ("access_ips:\n  - ip_address: 10.0.0.300\n", 2, "not a valid IPv4 or IPv6 address"),
    "unknown prune kind": ("reconciler:\n  prune: [billing_group]\n", 2, "unknown kind"),
    "not a list": ("billing_groups:\n  name: A\n", 1, "must be a list of entries"),
}
CONFIG = str(EXAMPLES / "config")  # absolute: the tests run from any directory


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
@pytest.mark.parametrize("command", ["validate", "plan", "apply", "drift"])
def test_bad_config_is_refused_before_any_request(account: Account, tmp_path: Path, case: str, command: str) -> None:
    text, line, words = BAD_CONFIGS[case]
    path = write_config(tmp_path, "bad.yaml", text)
    args = [command, str(path)] + (["--auto-approve"] if command == "apply" else [])
    result = account.run(*args)
    assert result.exit_code == 1, result.output
    assert f"{path}:{line}:" in result.stderr and words in result.stderr
    assert "Traceback" not in result.output
    assert account.request_count() == 0


def test_validate_accepts_the_examples(account: Account) -> None:
    files = sorted(Path(CONFIG).glob("*.yaml"))
    documents = [yaml_rs.loads(f.read_text()) for f in files]
    # each entry of a kind's list is one resource; a kind written as one mapping (the policy) is one
    resources = sum(len(v) if isinstance(v, list) else 1 for d in documents for k, v in d.items() if k != "reconciler")
    result = account.run("validate", CONFIG)
    assert result.exit_code == 0 and f"Valid: {resources} resource(s) in {len(files)} file(s)." in result.stdout
    assert account.request_count() == 0


def test_an_unknown_target_is_a_usage_error(account: Account) -> None:
    result = account.run("plan", CONFIG, "--target", "billing_group:x")
    assert result.exit_code == 1 and "unknown kind 'billing_group'" in result.stderr
    assert account.request_count() == 0


def test_a_missing_api_key_is_named(account: Account) -> None:
    result = account.run("plan", CONFIG, env={"TELNYX_API_KEY": ""})
    assert result.exit_code == 1 and "TELNYX_API_KEY is not set" in result.stderr


def test_a_bad_option_exits_1_not_2(account: Account) -> None:
    result = account.run("plan", "--format", "yaml")
    assert result.exit_code == 1 and "Invalid value for '--format'" in result.stderr


def test_the_installed_console_script_keeps_the_contract(account: Account, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("telnyx-reconciler")
    env = {**os.environ, "TELNYX_API_KEY": API_KEY, "TELNYX_BASE_URL": account.url}
    bad = write_config(tmp_path, "bad.yaml", "billing_groups:\n  - nme: A\n")
    invalid = subprocess.run([str(script), "plan", str(bad)], capture_output=True, text=True, env=env, timeout=60)
    assert invalid.returncode == 1 and f"{bad}:2:" in invalid.stderr and "Traceback" not in invalid.stderr
    changes = subprocess.run(
        [str(script), "plan", CONFIG, "--detailed-exitcode"], capture_output=True, text=True, env=env, timeout=60
    )
    assert changes.returncode == 2, changes.stderr
    assert API_KEY not in changes.stdout + changes.stderr
    debug = subprocess.run(
        [str(script), "--debug", "plan", CONFIG], capture_output=True, text=True, env=env, timeout=60
    )
    assert debug.returncode == 0 and "GET /billing_groups -> 200" in debug.stderr
    assert API_KEY not in debug.stdout + debug.stderr
