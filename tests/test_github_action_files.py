"""The files a config repository uses: action.yml's own script run as GitHub runs it (bash, the inputs as
environment) through plan, comment, merge and apply; the pinned requirements; the example workflow."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml_rs
from fake_github import REPO, TOKEN, FakeGitHub, fake_github
from packaging.requirements import Requirement
from support import API_KEY, EXAMPLES, ROOT, Account, example_variable_names

ACTION = ROOT / "action.yml"
WORKFLOW = EXAMPLES / "github-actions" / "telnyx.yml"


def action_step(step_id: str) -> dict[str, Any]:
    return next(s for s in yaml_rs.loads(ACTION.read_text())["runs"]["steps"] if s.get("id") == step_id)


def run_action(account: Account, fake: FakeGitHub, work: Path, folder: str, inputs: dict[str, str],
               event: tuple[str, str, str]) -> tuple[int, dict[str, str], str]:
    """action.yml's `run` step in bash, as a runner would run it, with a venv that is this interpreter."""
    (work / folder).mkdir()
    venv = work / "venv" / "bin"
    if not venv.exists():
        venv.mkdir(parents=True)
        (venv / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        (venv / "python").chmod(0o755)
    name, payload, sha = event
    (work / folder / "event.json").write_text(payload)
    env = {
        "PATH": os.environ["PATH"], "HOME": str(work), "VENV": str(venv.parent), "PYTHONPATH": str(ROOT),
        **{f"INPUT_{k.upper()}": v for k, v in inputs.items()},
        "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": fake.url, "GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_NAME": name,
        "GITHUB_EVENT_PATH": str(work / folder / "event.json"), "GITHUB_SHA": sha,
        "GITHUB_OUTPUT": str(work / folder / "output"), "GITHUB_STEP_SUMMARY": str(work / folder / "summary.md"),
        "RUNNER_TEMP": str(work / folder), "TELNYX_API_KEY": API_KEY, "TELNYX_BASE_URL": account.url,
        **example_secrets(),
    }
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", action_step("run")["run"]],
                          env=env, cwd=work, capture_output=True, text=True, timeout=120)
    outputs: dict[str, str] = {}
    for line in (work / folder / "output").read_text().splitlines():
        key, _, value = line.partition("=")
        outputs[key] = value
    return done.returncode, outputs, done.stdout + done.stderr


def example_secrets() -> dict[str, str]:
    """What the workflow passes from the repository's secrets for the config's `${env:NAME}` references."""
    return {name: os.environ[name] for name in example_variable_names()}


def workflow_inputs(job: str) -> dict[str, str]:
    """The action's inputs in a job of the example workflow, defaults filled in; an `args` expression
    (`${{ … }}`) is what it is on a push or a schedule: empty."""
    step = next(s for s in yaml_rs.loads(WORKFLOW.read_text())["jobs"][job]["steps"] if "telnyx-reconciler" in s.get("uses", ""))
    given = {k: str(v) for k, v in step["with"].items()}
    if "${{" in given.get("args", ""):
        given["args"] = ""
    return {"args": "", "comment": "true", **given}


def test_a_config_repository_goes_through_plan_comment_merge_and_apply_with_the_actions_own_script(
    account: Account, tmp_path: Path
) -> None:
    planned = account.planned(str(shutil.copytree(EXAMPLES / "config", tmp_path / "telnyx")))
    with fake_github() as fake:
        pull_request = ("pull_request", '{"pull_request": {"number": 3}}', "")
        code, outputs, log = run_action(account, fake, tmp_path, "pr", workflow_inputs("plan"), pull_request)
        assert code == 0, log
        assert outputs["has-changes"] == "true" and outputs["exitcode"] == "0"
        assert len(fake.bodies(3)) == 1 and outputs["checksum"] in fake.bodies(3)[0]
        assert "### Telnyx plan" in (tmp_path / "pr" / "summary.md").read_text()

        fake.commit_pulls["f00d" * 10] = [{"number": 3, "merged_at": "2026-12-01T00:00:00Z"}]
        code, applied, log = run_action(account, fake, tmp_path, "merge", workflow_inputs("apply"), ("push", "{}", "f00d" * 10))
        assert code == 0, log
        assert applied["checksum"] == outputs["checksum"] and f"Apply complete: {planned} change(s) applied." in log

        schedule = ("schedule", "{}", "")
        code, answered, log = run_action(account, fake, tmp_path, "portouts", workflow_inputs("portouts"), schedule)
        assert code == 0, log
        code, again, log = run_action(account, fake, tmp_path, "drift", workflow_inputs("drift"), schedule)
        assert code == 0 and again["exitcode"] == "0" and again["has-changes"] == "false", log
        assert "No drift" in (tmp_path / "drift" / "summary.md").read_text()
        assert len(fake.bodies(3)) == 1
    assert API_KEY not in log and TOKEN not in log


def test_the_pinned_requirements_hold_every_runtime_dependency_at_a_version_it_accepts() -> None:
    pins = dict(re.findall(r"^([a-z0-9-]+)==(\S+)", (ROOT / "requirements.lock").read_text(), re.M))
    assert all(re.search(rf"^{re.escape(n)}==\S+ \\\n    --hash=sha256:[0-9a-f]{{64}}", (ROOT / "requirements.lock").read_text(), re.M)
               for n in pins)
    for text in metadata.requires("telnyx-reconciler") or []:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{name} is not pinned in requirements.lock"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is not {requirement.specifier}"


def test_every_env_reference_of_the_example_config_is_passed_from_a_secret_in_every_job_that_loads_it() -> None:
    names = set(example_variable_names())
    assert names, "examples/config should show an integration secret read from the environment"
    jobs = yaml_rs.loads(WORKFLOW.read_text())["jobs"]
    for job_name in ("plan", "apply", "drift"):
        env = jobs[job_name]["env"]
        for name in names | {"TELNYX_API_KEY", "TELNYX_RECONCILER_STATE_KEY"}:
            assert env.get(name) == f"${{{{ secrets.{name} }}}}", f"{job_name} does not pass {name}"
    assert set(jobs["portouts"]["env"]) == {"TELNYX_API_KEY"}


def test_plans_have_a_group_per_pull_request_and_the_account_a_group_that_is_never_cancelled() -> None:
    workflow = yaml_rs.loads(WORKFLOW.read_text())
    jobs = workflow["jobs"]
    assert "concurrency" not in workflow
    assert jobs["plan"]["concurrency"] == {"group": "telnyx-plan-${{ github.event.pull_request.number }}", "cancel-in-progress": True}
    assert jobs["apply"]["concurrency"] == jobs["portouts"]["concurrency"] == {"group": "telnyx-account", "cancel-in-progress": False}
    used = [s["uses"] for j in jobs.values() for s in j["steps"] if "telnyx-reconciler" in s.get("uses", "")]
    assert used and all(re.fullmatch(r"[\w-]+/telnyx-reconciler@(v\d+\.\d+\.\d+|[0-9a-f]{40})", u) for u in used)


def test_the_pre_commit_hook_validates_the_config_offline(tmp_path: Path) -> None:
    [hook] = yaml_rs.loads((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "telnyx-reconciler-validate" and hook["entry"].startswith("telnyx-reconciler validate")
    shutil.copytree(EXAMPLES / "config", tmp_path / "telnyx")
    command = hook["entry"].split()[1:] + hook["args"]
    # no key, no base URL: nothing to reach; the secrets' variables, which validate checks are set
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **example_secrets()}
    done = subprocess.run([sys.executable, "-m", "reconciler", *command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("Valid:"), done.stderr
    (tmp_path / "telnyx" / "billing.yaml").write_text("billing_groups:\n  - nme: typo\n")
    failed = subprocess.run([sys.executable, "-m", "reconciler", *command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1 and "billing.yaml:2" in failed.stderr
