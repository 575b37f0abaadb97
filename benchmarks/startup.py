"""How long the command line takes to start: wall and CPU time of short commands next to a bare Python.

    .venv/bin/python benchmarks/startup.py [--runs 10]

Each command runs `--runs` times, after one run not counted, in a fresh process:

- `python -c pass`, the floor every command pays;
- `telnyx-reconciler --help`;
- `telnyx-reconciler validate examples/config`;
- `telnyx-reconciler plan examples/config` against a sandbox served in its own process on 127.0.0.1, seeded
  with the example account (`examples/sandbox-seed.yaml`: the numbers the config manages must be owned).

It prints, per command, wall and CPU (user + system of the process) seconds as min / median / max and the
medians above bare Python, the goals (judged on each command's fastest run against bare Python's, as the
machine may be busy with other work), and then one JSON line. The sandbox is stopped at the end.

Python's bytecode cache is on, as on a user's machine (the run not counted writes it), even where
PYTHONDONTWRITEBYTECODE is set; `--no-bytecode-cache` measures with that setting kept, when every
process compiles the package's source again.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sandbox_process import API_KEY, ROOT, sandbox_process

from reconciler.cli.sandbox import example_environ

TOOL = str(Path(sys.executable).with_name("telnyx-reconciler"))  # the console script, as a user runs it
RUN_TIMEOUT = 120.0
GOALS = {"--help": 0.25, "validate examples/config": 0.5}  # wall seconds above bare Python


def one_run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one fresh process; CPU from the kernel's accounting of the finished child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, env=env, cwd=ROOT, timeout=RUN_TIMEOUT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 2):
        raise SystemExit(f"`{' '.join(command)}` exited {done.returncode}:\n{done.stderr.decode()[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(command: list[str], env: dict[str, str], runs: int) -> dict[str, dict[str, float]]:
    one_run(command, env)  # warm the file cache and the bytecode
    samples = [one_run(command, env) for _ in range(runs)]
    return {name: summary([s[i] for s in samples]) for i, name in enumerate(("wall", "cpu"))}


def summary(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3), "max": round(max(values), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="counted runs of each command")
    parser.add_argument("--no-bytecode-cache", action="store_true", help="keep PYTHONDONTWRITEBYTECODE as it is")
    options = parser.parse_args()
    env = {**example_environ(), "TELNYX_API_KEY": API_KEY}  # with what the example's secrets read
    if not options.no_bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "--help": [TOOL, "--help"],
        "validate examples/config": [TOOL, "validate", "examples/config"],
    }
    results = {name: measure(command, env, options.runs) for name, command in commands.items()}
    with sandbox_process("--seed", str(ROOT / "examples" / "sandbox-seed.yaml")) as (url, _):
        results["plan examples/config"] = measure([TOOL, "plan", "examples/config"], {**env, "TELNYX_BASE_URL": url},
                                                  options.runs)
    floor = {name: results["python -c pass"][name] for name in ("wall", "cpu")}
    print(f"Start-up, {options.runs} runs each after one not counted; seconds as min / median / max")
    print(f"{'command':<26} {'wall':>22} {'CPU':>22} {'wall - python':>14} {'CPU - python':>13}")
    for name, figures in results.items():
        wall, cpu = figures["wall"], figures["cpu"]
        print(f"{name:<26} {_span(wall):>22} {_span(cpu):>22} {wall['median'] - floor['wall']['median']:>14.3f} "
              f"{cpu['median'] - floor['cpu']['median']:>13.3f}")
    # Judged on the fastest run of each, the one least disturbed by whatever else the machine runs.
    met = {f"{name} within {goal:g} s of python": results[name]["wall"]["min"] - floor["wall"]["min"] <= goal
           for name, goal in GOALS.items()}
    print("goals (fastest runs): " + ", ".join(f"{k}: {'met' if v else 'NOT MET'}" for k, v in met.items()))
    conditions = {"runs": options.runs, "cpus": os.cpu_count(), "python": sys.version.split()[0],
                  "bytecode_cache": "PYTHONDONTWRITEBYTECODE" not in env}
    print(json.dumps({"benchmark": "startup", "conditions": conditions, "results": results, "goals": met},
                     sort_keys=True))


def _span(figure: dict[str, float]) -> str:
    return f"{figure['min']:.3f} / {figure['median']:.3f} / {figure['max']:.3f}"


if __name__ == "__main__":
    main()
