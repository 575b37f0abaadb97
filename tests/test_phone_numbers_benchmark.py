"""The phone-number benchmark runs end to end at a small size and reports figures that meet its goals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_benchmark_runs_and_meets_its_goals_at_200_numbers() -> None:
    done = subprocess.run([sys.executable, "benchmarks/phone_numbers.py", "--sizes", "200", "--latency-ms", "0"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    table, line = done.stdout.rsplit("\n", 2)[0], done.stdout.strip().splitlines()[-1]
    assert "     200 plan" in table and "NOT MET" not in table
    report = json.loads(line)
    (result,) = report["results"]
    assert result["plan"]["requests"] == result["plan"]["minimum"] == 4  # numbers, voice, billing groups, addresses
    assert result["apply"]["jobs"] == result["apply"]["minimum_jobs"] and result["apply"]["changed"] > 150
    assert all(report["goals"][0].values())
