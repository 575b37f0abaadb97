"""Mutation check of the safety core: break each guarantee on purpose and see that the tests notice.

Each mutation below rewrites one line of the safety core (thresholds, the plan checksum, redaction, the
order of a replace, reject-wins in the port-out policy, the saved-plan check, prevent_destroy) in a
temporary copy of the project, then runs the focused tests against that copy. A mutation the tests do
not fail on "survived": a guarantee that no test guards. Run it before a release:

    .venv/bin/python scripts/mutation_check.py            # every mutation
    .venv/bin/python scripts/mutation_check.py --list     # their names
    .venv/bin/python scripts/mutation_check.py checksum-kind-key-action redaction-values

It prints one line per mutation and exits 1 if any survived, or if a mutation no longer matches the code
(then update its text here). The working tree is never changed. Each test run is bounded by a timeout.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("reconciler", "tests", "examples", "schemas", "pyproject.toml")
TESTS = (
    "tests/test_engine.py",
    "tests/test_redaction.py",
    "tests/test_portout_policy.py",
    "tests/test_portout_rules.py",
    "tests/test_cli_e2e.py",
)
TIMEOUT = 600  # seconds for one test run


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    before: str
    after: str


MUTATIONS = (
    Mutation("delete-threshold-off", "reconciler/plan.py",
             "if deletes / live_count > limits.delete_threshold:", "if False:"),
    Mutation("update-threshold-off", "reconciler/plan.py",
             "if updates / live_count > limits.update_threshold:", "if False:"),
    Mutation("threshold-floor-off", "reconciler/plan.py",
             "if live_count < limits.min_existing:", "if False:"),
    Mutation("threshold-floor-inclusive", "reconciler/plan.py",
             "if live_count < limits.min_existing:", "if live_count <= limits.min_existing:"),
    Mutation("prevent-destroy-off", "reconciler/plan.py",
             "protected = [c.address for c in plan.changes if c.protected and c.action.destroys]", "protected = []"),
    Mutation("checksum-kind-key-action", "reconciler/plan.py",
             'done = [{k: v for k, v in c.to_dict().items() if k != "reason"} for c in self.changes]',
             'done = [{k: c.to_dict()[k] for k in ("kind", "key", "action")} for c in self.changes]'),
    Mutation("saved-plan-unchecked", "reconciler/pipeline.py",
             "if saved.checksum == fresh.checksum:", "if True:"),
    Mutation("redaction-values", "reconciler/plan.py",
             "if values is None or not self.sensitive:", "if True:"),
    Mutation("redaction-changed-fields", "reconciler/plan.py",
             "        if not self.sensitive:\n            return self.fields", "        if True:\n            return self.fields"),
    Mutation("replace-never-deletes-first", "reconciler/order.py",
             "elif change.action is Action.DELETE_BEFORE_CREATE:", "elif False:"),
    Mutation("replace-create-before-delete-first", "reconciler/order.py",
             "first.extend((Step(change, Op.DELETE), Step(change, Op.CREATE)))",
             "first.extend((Step(change, Op.CREATE), Step(change, Op.DELETE)))"),
    Mutation("replace-deletes-before-dependants-move", "reconciler/order.py",
             "            first.append(Step(change, Op.CREATE))\n            last.append(Step(change, Op.DELETE))",
             "            first.append(Step(change, Op.CREATE))\n            first.append(Step(change, Op.DELETE))"),
    Mutation("reject-loses-to-authorize", "reconciler/policies/portout_rules.py",
             "    if rejecting:\n",
             "    if rejecting and not any(o.rule is not None and o.rule.action == 'authorize' for o in per_number.values()):\n"),
    Mutation("reject-loses-to-manual", "reconciler/policies/portout_rules.py",
             "    if rejecting:\n",
             "    if rejecting and not any(o.rule is None or o.rule.action == 'manual' for o in per_number.values()):\n"),
)


def copy_project(target: Path) -> None:
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.lock", "*.state.json"))
        else:
            shutil.copy2(source, target / name)


def mutate(copy: Path, mutation: Mutation) -> bool:
    """Apply the mutation to the copy; False when its text is not found exactly once (the code moved on)."""
    path = copy / mutation.path
    text = path.read_text(encoding="utf-8")
    if text.count(mutation.before) != 1:
        return False
    path.write_text(text.replace(mutation.before, mutation.after), encoding="utf-8")
    return True


def run_tests(copy: Path) -> str:
    """'passed', 'failed' or 'error' (collection error, timeout) for the focused tests in the copy."""
    environment = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *TESTS]
    try:
        done = subprocess.run(command, cwd=copy, env=environment, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return "error"
    return {0: "passed", 1: "failed"}.get(done.returncode, "error")


def check(mutation: Mutation | None) -> str:
    with tempfile.TemporaryDirectory(prefix="mutation-") as directory:
        copy = Path(directory)
        copy_project(copy)
        if mutation is not None and not mutate(copy, mutation):
            return "stale"
        return run_tests(copy)


VERDICTS = {"failed": "killed", "passed": "SURVIVED", "error": "error (tests did not run)", "stale": "STALE (text not found)"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutations to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(m.name for m in MUTATIONS))
        return 0
    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    unknown = set(args.names) - {m.name for m in MUTATIONS}
    if unknown:
        parser.error(f"unknown mutation(s): {', '.join(sorted(unknown))}")
    baseline = check(None)
    if baseline != "passed":
        print(f"the focused tests do not pass on the unmutated code ({baseline}): fix that first")
        return 1
    outcomes = []
    for mutation in chosen:
        started = time.monotonic()
        outcome = check(mutation)
        outcomes.append(outcome)
        print(f"{VERDICTS[outcome]:<28} {mutation.name:<40} ({time.monotonic() - started:.0f} s)", flush=True)
    killed = outcomes.count("failed")
    print(f"{killed} of {len(chosen)} mutations killed")
    return 0 if killed == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
