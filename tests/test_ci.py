"""`.ci/run` runs the lint and type checks before the tests, and any finding fails the build."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# A stand-in `python3` whose venv holds pip, ruff, mypy, check-jsonschema and pytest that log their call and exit as told.
FAKE_PYTHON = """#!/usr/bin/env bash
mkdir -p .venv/bin
for tool in pip ruff mypy check-jsonschema pytest; do
  name=${tool//-/_}
  printf '#!/usr/bin/env bash\\necho "%s $*" >> calls.log\\nexit ${EXIT_%s:-0}\\n' "$tool" "${name^^}" > .venv/bin/$tool
  chmod +x .venv/bin/$tool
done
"""


def run_ci(tmp_path: Path, **exits: int) -> tuple[int, list[str]]:
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    (bin_dir / "python3").write_text(FAKE_PYTHON)
    (bin_dir / "python3").chmod(stat.S_IRWXU)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", **{f"EXIT_{k.upper()}": str(v) for k, v in exits.items()}}
    done = subprocess.run(["bash", ".ci/run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    log = tmp_path / "calls.log"
    return done.returncode, [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []


def test_ci_installs_the_dev_tools_and_checks_before_testing(tmp_path: Path) -> None:
    code, calls = run_ci(tmp_path)
    assert code == 0 and calls == ["pip", "ruff", "mypy", "check-jsonschema", "check-jsonschema", "pytest"]
    assert ".[test,dev,serve]" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize(("failing", "ran"), [
    ("ruff", ["pip", "ruff"]),
    ("mypy", ["pip", "ruff", "mypy"]),
    ("check_jsonschema", ["pip", "ruff", "mypy", "check-jsonschema"]),
])
def test_a_lint_or_type_finding_fails_the_build_before_the_tests(tmp_path: Path, failing: str, ran: list[str]) -> None:
    code, calls = run_ci(tmp_path, **{failing: 1})
    assert code != 0 and calls == ran


def test_the_tests_decide_the_exit_code(tmp_path: Path) -> None:
    assert run_ci(tmp_path, pytest=1)[0] == 1
