"""The GitHub Action's command (`github run`) against the sandbox and a fake GitHub API on loopback: the job
summary and outputs, one sticky plan comment per pull request, and apply only of the reviewed plan."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fake_github import REPO, TOKEN, FakeGitHub, fake_github
from support import API_KEY, EXAMPLES, Account, example_variable_names, served, write_config

from reconciler.sandbox import Sandbox, generate_account

PR = 7
MERGE_SHA = "abc123" + "0" * 34
COMMENTS = rf"/repos/{REPO}/issues/{PR}/comments"


@dataclass
class Job:
    """One step of a workflow run: its environment, and the files GitHub gives it."""

    env: dict[str, str]
    folder: Path

    def outputs(self) -> dict[str, str]:
        path = self.folder / "output"
        return dict(line.split("=", 1) for line in path.read_text().splitlines()) if path.exists() else {}

    def summary(self) -> str:
        path = self.folder / "summary.md"
        return path.read_text() if path.exists() else ""


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with fake_github() as fake:
        yield fake


def job(fake: FakeGitHub, folder: Path, event_name: str, event: dict[str, Any], sha: str = "") -> Job:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "event.json").write_text(json.dumps(event))
    return Job({
        "GITHUB_API_URL": fake.url, "GITHUB_REPOSITORY": REPO, "GITHUB_TOKEN": TOKEN, "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(folder / "event.json"), "GITHUB_SHA": sha, "GITHUB_OUTPUT": str(folder / "output"),
        "GITHUB_STEP_SUMMARY": str(folder / "summary.md"), "RUNNER_TEMP": str(folder),
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "42",
    }, folder)


def pr_job(fake: FakeGitHub, folder: Path) -> Job:
    return job(fake, folder, "pull_request", {"pull_request": {"number": PR}})


def merge_job(fake: FakeGitHub, folder: Path) -> Job:
    fake.commit_pulls[MERGE_SHA] = [{"number": PR, "merged_at": "2026-12-01T10:00:00Z"}]
    return job(fake, folder, "push", {"after": MERGE_SHA}, sha=MERGE_SHA)


def copy_config(tmp_path: Path) -> Path:
    target = tmp_path / "telnyx"
    shutil.copytree(EXAMPLES / "config", target)
    return target


def test_the_plan_comment_is_posted_once_then_edited_in_place(account: Account, github: FakeGitHub, tmp_path: Path) -> None:
    config = str(copy_config(tmp_path))
    first = account.run("github", "run", "plan", config, "--comment", env=pr_job(github, tmp_path / "1").env)
    assert first.exit_code == 0, first.output
    step = Job({}, tmp_path / "1")
    assert step.outputs()["has-changes"] == "true" and step.outputs()["exitcode"] == "0"
    assert len(step.outputs()["checksum"]) == 64
    assert json.loads(Path(step.outputs()["plan-json"]).read_text())["checksum"] == step.outputs()["checksum"]
    assert step.outputs()["summary"].startswith("Plan: ")
    assert "### Telnyx plan" in step.summary() and "`billing_groups`" in step.summary()
    assert github.calls("POST", COMMENTS) == 1
    [body] = github.bodies(PR)
    assert f"checksum={step.outputs()['checksum']}" in body and "<details>" in body

    second = account.run("github", "run", "plan", config, "--comment", env=pr_job(github, tmp_path / "2").env)
    assert second.exit_code == 0, second.output
    assert github.calls("POST", COMMENTS) == 1 and github.calls("PATCH", r".*/issues/comments/\d+") == 1
    assert len(github.bodies(PR)) == 1
    assert API_KEY not in json.dumps(github.comments) and TOKEN not in first.output + second.output


def test_a_comment_by_someone_else_with_the_marker_is_never_taken_for_the_plan(account: Account, github: FakeGitHub, tmp_path: Path) -> None:
    config = str(copy_config(tmp_path))
    assert account.run("github", "run", "plan", config, "--comment", env=pr_job(github, tmp_path / "1").env).exit_code == 0
    forged = dict(github.comments[PR][0], id=5, user={"login": "mallory"})
    github.comments[PR].append(forged)
    assert account.run("github", "run", "plan", config, "--comment", env=pr_job(github, tmp_path / "2").env).exit_code == 0
    assert github.requests[-1][0] == "PATCH" and github.requests[-1][1].endswith(f"/comments/{github.comments[PR][0]['id']}")


def test_an_invalid_config_comments_every_problem_with_file_and_line(account: Account, github: FakeGitHub, tmp_path: Path) -> None:
    config = write_config(tmp_path, "bad.yaml", "billing_groups:\n  - name: A\n    colour: red\naccess_ips:\n  - ip_address: nope\n")
    result = account.run("github", "run", "plan", str(config), "--comment", env=pr_job(github, tmp_path / "j").env)
    assert result.exit_code == 1
    [body] = github.bodies(PR)
    assert "the config is invalid" in body and "checksum=none" in body
    assert f"{config}:3" in body and f"{config}:5" in body
    step = Job({}, tmp_path / "j")
    assert step.outputs()["exitcode"] == "1" and step.outputs()["has-changes"] == "false"
    assert f"{config}:3" in step.summary()
    assert account.request_count() == 0


def test_a_plan_refused_by_a_threshold_is_shown_under_the_reason(github: FakeGitHub, tmp_path: Path) -> None:
    seed = {"billing_groups": [{"name": f"Group {i}"} for i in range(12)]}
    with served(Sandbox(api_key=API_KEY, seed=seed)) as account:
        config = write_config(tmp_path, "c.yaml", "reconciler:\n  prune: [billing_groups]\nbilling_groups: []\n")
        result = account.run("github", "run", "plan", str(config), "--comment", env=pr_job(github, tmp_path / "j").env)
    assert result.exit_code == 1, result.output
    [body] = github.bodies(PR)
    assert "**Refused:** the plan changes too much at once" in body and "billing_groups[Group 3]" in body


def test_a_10000_number_change_is_one_comment_within_githubs_limit(github: FakeGitHub, tmp_path: Path) -> None:
    sandbox = Sandbox(api_key=API_KEY, seed=generate_account(10_000, seed=3))
    with served(sandbox, check=False) as account:
        numbers = [n["phone_number"] for n in sandbox.state.all("phone_numbers") if n.get("status", "active") == "active"]
        entries = "".join(f"  - {{phone_number: '{n}', tags: [reviewed]}}\n" for n in numbers)
        config = write_config(tmp_path, "numbers.yaml", "phone_numbers:\n" + entries)
        result = account.run("github", "run", "plan", str(config), "--comment", "--force", env=pr_job(github, tmp_path / "j").env)
    assert result.exit_code == 0, result.output
    [body] = github.bodies(PR)
    assert len(body) < 65_536
    assert f"| `phone_numbers` | 0 | {len(numbers):,} |" in body
    assert "more changes in the [job summary](https://github.com/acme/telnyx-config/actions/runs/42)" in body
    assert len(numbers) > 9_000


def test_a_merge_applies_the_plan_whose_checksum_was_reviewed(account: Account, github: FakeGitHub, tmp_path: Path) -> None:
    config = str(copy_config(tmp_path))
    planned = account.planned(config)
    assert account.run("github", "run", "plan", config, "--comment", env=pr_job(github, tmp_path / "pr").env).exit_code == 0
    merged = account.run("github", "run", "apply", config, "--comment", env=merge_job(github, tmp_path / "merge").env)
    assert merged.exit_code == 0, merged.output
    assert f"Apply complete: {planned} change(s) applied." in merged.stdout
    assert github.calls("GET", rf"/repos/{REPO}/commits/{MERGE_SHA}/pulls") == 1
    assert len(github.bodies(PR)) == 1 and github.calls("PATCH", ".*") == 0
    assert account.run("plan", config, "--detailed-exitcode").exit_code == 0


def test_a_merge_whose_plan_changed_applies_nothing_and_comments_the_new_plan(account: Account, github: FakeGitHub, tmp_path: Path) -> None:
    config = copy_config(tmp_path)
    assert account.run("github", "run", "plan", str(config), "--comment", env=pr_job(github, tmp_path / "pr").env).exit_code == 0
    reviewed = Job({}, tmp_path / "pr").outputs()["checksum"]
    assert account.run("apply", str(config), "--auto-approve", "--target", "access_ips").exit_code == 0  # the account moved meanwhile
    before = account.writes()
    merged = account.run("github", "run", "apply", str(config), "--comment", env=merge_job(github, tmp_path / "merge").env)
    assert merged.exit_code == 1
    assert account.writes() == before
    assert "not the reviewed" in merged.stderr
    [body] = github.bodies(PR)
    fresh = Job({}, tmp_path / "merge").outputs()["checksum"]
    assert fresh != reviewed and f"checksum={fresh}" in body and "**Not applied.**" in body
    assert f"--expect-checksum {fresh}" in body

    by_hand = account.run("github", "run", "apply", str(config), "--expect-checksum", fresh,
                          env=job(github, tmp_path / "dispatch", "workflow_dispatch", {}).env)
    assert by_hand.exit_code == 0, by_hand.output
    assert "Apply complete" in by_hand.stdout


def test_a_push_that_no_pull_request_merged_applies_nothing(account: Account, github: FakeGitHub, tmp_path: Path) -> None:
    pushed = job(github, tmp_path / "push", "push", {}, sha="f" * 40)
    result = account.run("github", "run", "apply", str(copy_config(tmp_path)), env=pushed.env)
    assert result.exit_code == 1 and "not the merge of a reviewed pull request" in result.stderr
    assert account.writes() == []


def test_the_scheduled_port_out_job_needs_no_review_and_no_other_secret(
    account: Account, github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = copy_config(tmp_path)  # its integration secrets read ${env:...}, which this job is not given
    for name in example_variable_names():
        monkeypatch.delenv(name)
    scheduled = job(github, tmp_path / "cron", "schedule", {})
    result = account.run("github", "run", "apply", str(config), "--target", "portout_policy", env=scheduled.env)
    assert result.exit_code == 0, result.output
    assert github.requests == []
    assert all("/portouts" in w or "/comments" in w for w in account.writes())


def test_an_api_error_is_commented_and_no_secret_is_in_any_comment_summary_or_output(
    account: Account, github: FakeGitHub, tmp_path: Path
) -> None:
    config = copy_config(tmp_path)
    token = "crm-token-value-never-shown-0193"
    write_config(config, "secrets.yaml", "integration_secrets:\n  - identifier: crm\n    type: bearer\n    token: ${env:CRM_TOKEN}\n")
    planned = account.run("github", "run", "plan", str(config), "--comment", env={**pr_job(github, tmp_path / "ok").env, "CRM_TOKEN": token})
    assert planned.exit_code == 0, planned.output
    assert "integration_secrets[crm]" in github.bodies(PR)[0]

    refused = {**pr_job(github, tmp_path / "401").env, "CRM_TOKEN": token, "TELNYX_API_KEY": "KEY-not-the-account-s"}
    failed = account.run("github", "run", "plan", str(config), "--comment", env=refused)
    assert failed.exit_code == 1
    [body] = github.bodies(PR)
    assert "no plan could be made" in body and "HTTP 401" in body and "Check TELNYX_API_KEY" in body
    written = [body, planned.output, failed.output] + [p.read_text() for p in tmp_path.rglob("*") if p.is_file() and "telnyx" not in p.parts]
    assert not any(token in text or API_KEY in text or "KEY-not-the-account-s" in text for text in written)
