"""A large config with one error: how long `validate` takes to report it, against validating it whole.

    .venv/bin/python benchmarks/config_errors.py [--numbers 100000] [--repeat 3]

It writes a config of N phone numbers (block style, each with tags, a billing group and voice settings),
then runs `telnyx-reconciler validate`, each run in a fresh process of the tool:

- on the valid config;
- with one typo in a field name of the entry in the middle (an unknown field, reported with its line);
- with one wrong value type in the last entry (a wrong type, reported with its line).

It prints the best CPU time (user + system of the tool's process) and wall time of each over the
repeats, the ratio of each error run's CPU time to the valid run's (the goal is under 2; CPU time is
what a busy machine disturbs least), and one JSON line. No network is used.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOL = [sys.executable, "-c", "import sys; from reconciler.cli import main; sys.argv[0] = 'telnyx-reconciler'; main()"]
GOAL_RATIO = 2.0
RUN_TIMEOUT = 1800.0


def config_text(numbers: int, typo_at: int | None = None, bad_type_at: int | None = None) -> str:
    lines = ["billing_groups:", "  - name: Sales", "phone_numbers:"]
    for index in range(numbers):
        tag = "tagz" if index == typo_at else "tags"
        lines.append(f'  - phone_number: "+1312{index:07d}"')
        lines.append(f"    {tag}: [sales, region-{index % 7}]")
        lines.append("    billing_group: Sales")
        lines.append(f"    hd_voice_enabled: {'maybe' if index == bad_type_at else 'true'}")
    return "\n".join(lines) + "\n"


def timed(path: Path) -> tuple[float, float, int, str]:
    """CPU seconds and wall seconds of one `validate`, its exit code and the line naming the error."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([*TOOL, "validate", str(path)], capture_output=True, text=True, cwd=ROOT, timeout=RUN_TIMEOUT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, done.returncode, done.stderr.strip().splitlines()[-2:][0] if done.stderr else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cases = {
        "valid": config_text(args.numbers),
        "unknown field": config_text(args.numbers, typo_at=args.numbers // 2),
        "wrong type": config_text(args.numbers, bad_type_at=args.numbers - 1),
    }
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as work:
        for name, text in cases.items():
            path = Path(work) / "telnyx.yaml"
            path.write_text(text, encoding="utf-8")
            runs = [timed(path) for _ in range(args.repeat)]
            results[name] = {"cpu_seconds": round(min(r[0] for r in runs), 2), "wall_seconds": round(min(r[1] for r in runs), 2),
                             "exit": runs[0][2], "message": runs[0][3][:120]}
    valid = float(results["valid"]["cpu_seconds"])  # type: ignore[arg-type]
    size = len(cases["valid"].encode()) / 1e6
    print(f"{args.numbers:,} numbers, {size:.1f} MB, best of {args.repeat}")
    for name, result in results.items():
        ratio = float(result["cpu_seconds"]) / valid  # type: ignore[arg-type]
        result["ratio"] = round(ratio, 2)
        print(f"  {name:<14} CPU {result['cpu_seconds']:>6.2f} s  wall {result['wall_seconds']:>6.2f} s  x{ratio:.2f}  "
              f"exit {result['exit']}  {result['message']}")
    goal = all(float(r["ratio"]) < GOAL_RATIO for n, r in results.items() if n != "valid")  # type: ignore[arg-type]
    print(json.dumps({"numbers": args.numbers, "megabytes": round(size, 1), "results": results, "goal_met": goal}))


if __name__ == "__main__":
    main()
