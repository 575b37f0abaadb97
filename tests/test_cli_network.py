"""Where the API is not: a base URL without /v2, a port nothing listens on; and the demo run from anywhere."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import EXAMPLES, Account

from reconciler.cli import cli


def test_a_base_url_without_v2_is_named_as_the_probable_cause_of_a_404(account: Account) -> None:
    without_v2 = account.url.removesuffix("/v2")
    result = account.run("plan", str(EXAMPLES / "config"), env={"TELNYX_BASE_URL": without_v2})
    assert result.exit_code == 1
    assert "HTTP 404" in result.stderr and "a path that should exist" in result.stderr
    assert f"the base URL {without_v2} is probably wrong" in result.stderr
    assert "gone from the account" not in result.stderr


def test_a_port_nothing_listens_on_says_so_at_each_retry_and_names_the_url(account: Account) -> None:
    with socket.socket() as probe:  # a free port, closed again: nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v2"
    result = account.run("plan", str(EXAMPLES / "config"), "--target", "billing_groups", env={"TELNYX_BASE_URL": url})
    assert result.exit_code == 1
    retries = [line for line in result.stderr.splitlines() if "retry" in line]
    assert [line.rsplit("retry ", 1)[1] for line in retries] == ["1 of 4", "2 of 4", "3 of 4", "4 of 4"]
    assert all(f"cannot connect to {url}/" in line for line in retries)
    error = result.stderr.splitlines()[len(retries)]
    assert error.startswith("Error: ") and f"cannot connect to {url}/" in error and "HTTP 0" not in error


def test_the_demo_runs_from_any_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    assert "No changes: the account matches the config." in result.stdout.split("== 3.")[1]
