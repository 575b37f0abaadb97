"""Applying what was reviewed: `apply --expect-checksum`, saved plans that name their config relative to
themselves, and `show PLANFILE` rendering a saved plan offline."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from support import EXAMPLES, Account


@contextmanager
def working_in(folder: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def checksum_of(account: Account, config: str) -> str:
    return str(reviewed(account, config)["checksum"])


def reviewed(account: Account, config: str) -> dict[str, Any]:
    return dict(json.loads(account.run("plan", config, "--format", "json").stdout))


@pytest.fixture
def config(tmp_path: Path) -> str:
    """A copy of the examples: an apply writes its state file beside the config."""
    return str(shutil.copytree(EXAMPLES / "config", tmp_path / "config"))


def test_apply_with_the_reviewed_checksum_applies_without_asking(account: Account, config: str) -> None:
    plan = reviewed(account, config)
    applied = account.run("apply", config, "--expect-checksum", plan["checksum"])
    assert applied.exit_code == 0, applied.output
    assert f"Apply complete: {len(plan['changes'])} change(s) applied." in applied.stdout


def test_apply_with_another_checksum_applies_nothing_and_names_the_new_one(account: Account, config: str) -> None:
    fresh = checksum_of(account, config)
    refused = account.run("apply", config, "--expect-checksum", "0" * 64)
    assert refused.exit_code == 1
    assert f"the plan now has checksum {fresh}, not the reviewed {'0' * 64}" in refused.stderr
    assert "Nothing was applied" in refused.stderr and account.writes() == []
    malformed = account.run("apply", config, "--expect-checksum", fresh[:12])
    assert malformed.exit_code == 1 and "is not a plan checksum" in malformed.stderr and account.writes() == []


def test_a_saved_plan_is_applied_from_another_directory(account: Account, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "config", repo / "telnyx")
    with working_in(repo):
        assert account.run("plan", "telnyx", "--out", "plans/reviewed.plan").exit_code == 0
    saved = json.loads((repo / "plans" / "reviewed.plan").read_text())
    planned = len(saved["plan"]["changes"])
    assert saved["config"] == ["../telnyx"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with working_in(elsewhere):
        applied = account.run("apply", "../repo/plans/reviewed.plan")
    assert applied.exit_code == 0, applied.output
    assert f"Apply complete: {planned} change(s) applied." in applied.stdout


def test_show_renders_a_saved_plan_offline_in_each_format(account: Account, tmp_path: Path) -> None:
    planfile = tmp_path / "reviewed.plan"
    assert account.run("plan", str(EXAMPLES / "config"), "--out", str(planfile)).exit_code == 0
    requests = account.request_count()
    text = account.run("show", str(planfile))
    document = json.loads(account.run("show", str(planfile), "--format", "json").stdout)
    created = sum(c["action"] == "create" for c in document["changes"])
    assert created and document["summary"]["create"] == created
    assert text.exit_code == 0 and "+/- addresses[hq]" in text.stdout and f"Plan: {created} to create" in text.stdout
    assert document["checksum"] == json.loads(planfile.read_text())["plan"]["checksum"]
    assert "### Telnyx plan" in account.run("show", str(planfile), "--format", "markdown").stdout
    assert account.request_count() == requests
    not_a_plan = account.run("show", str(EXAMPLES / "config" / "billing.yaml"))
    assert not_a_plan.exit_code == 1 and "not a plan file" in not_a_plan.stderr
