"""What apply prints while it works: counts that agree with each other, each line once."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from support import API_KEY, EXAMPLES, Account, served, write_config

from reconciler.sandbox import Sandbox, generate_account

FAST_JOBS = {"job_seconds": 0.05, "job_seconds_per_number": 0.00002}


def test_the_step_counter_counts_changes_and_ends_at_the_total_the_summary_gives(account: Account, tmp_path: Path) -> None:
    config = shutil.copytree(EXAMPLES / "config", tmp_path / "config")  # apply writes a state file beside it
    applied = account.run("apply", str(config), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    counters = [(int(a), int(b)) for a, b in re.findall(r"\[(\d+)/(\d+)\]", applied.stdout)]
    total = int(re.search(r"Apply complete: (\d+) change\(s\)", applied.stdout).group(1))  # type: ignore[union-attr]
    assert {b for _, b in counters} == {total}
    assert counters[-1] == (total, total)
    assert "(replace: the new one)" in applied.stdout and "(replace: the old one)" in applied.stdout


def test_numbers_in_two_jobs_each_are_counted_once_and_each_progress_line_is_printed_once(tmp_path: Path) -> None:
    sandbox = Sandbox(api_key=API_KEY, seed=generate_account(300, seed=3), **FAST_JOBS)
    with served(sandbox) as account:
        plain = [n for n in sandbox.state.all("phone_numbers")
                 if n.get("status", "active") == "active" and not n.get("emergency_enabled") and not n.get("billing_group_id")][:40]
        entries = "".join(f"  - phone_number: '{n['phone_number']}'\n    billing_group: Support\n"
                          "    emergency: {enabled: true, address: site-sf}\n" for n in plain)
        config = write_config(tmp_path, "c.yaml", "phone_numbers:\n" + entries)
        applied = account.run("apply", str(config), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    progress = [line for line in applied.stdout.splitlines() if "numbers updated" in line]
    assert len(progress) == len(set(progress)) >= 1
    assert len(plain) == 40 and progress[-1].strip() == f"phone_numbers: {len(plain)} of {len(plain)} numbers updated"
    assert f"Apply complete: {len(plain)} change(s) applied." in applied.stdout
