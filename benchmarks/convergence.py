"""Applies needed to converge under injected faults: the example config against the example account.

    .venv/bin/python benchmarks/convergence.py [--seeds 1,2,3,4,5] [--fail-rate 0.2] [--rate-limit 5]

For each seed, a sandbox seeded like `examples/sandbox-seed.yaml` (faults drawn from that seed: a 500 or
503 on that share of requests, half of the failed writes after the change was made) is served on
127.0.0.1, and `apply --auto-approve` of a copy of `examples/config` runs until `plan --detailed-exitcode`
finds nothing left (at most --max-applies times). It prints, per seed, the applies needed, the requests
sent and the duplicates left in the account, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconciler.cli import cli  # noqa: E402
from reconciler.cli.sandbox import example_environ  # noqa: E402
from reconciler.sandbox import Sandbox, load_seed  # noqa: E402

API_KEY = "KEY-convergence-benchmark"
UNIQUE = (("billing_groups", "name"), ("access_ips", "ip_address"), ("sso_providers", "short_name"),
          ("addresses", "customer_reference"))


def run_seed(seed: int, fail_rate: float, rate_limit: float, max_applies: int, config: Path) -> dict[str, Any]:
    sandbox = Sandbox(api_key=API_KEY, seed=load_seed(ROOT / "examples" / "sandbox-seed.yaml"),
                      fail_rate=fail_rate, rate_limit=rate_limit, random_seed=seed)
    applies, converged = 0, False
    with sandbox.serve() as url:
        env = {**example_environ(), "TELNYX_API_KEY": API_KEY, "TELNYX_BASE_URL": url}  # one value per secret a run
        runner = CliRunner()
        while applies < max_applies and not converged:
            applies += 1
            runner.invoke(cli, ["apply", str(config), "--auto-approve"], env=env)
            converged = runner.invoke(cli, ["plan", str(config), "--detailed-exitcode"], env=env).exit_code == 0
    return {"seed": seed, "applies": applies if converged else None, "requests": len(sandbox.requests),
            "duplicates": _duplicates(sandbox)}


def _duplicates(sandbox: Sandbox) -> int:
    extra = 0
    for collection, key in UNIQUE:
        values = [r.get(key) for r in sandbox.state.all(collection) if r.get(key) and not r.get("deleted_at")]
        extra += len(values) - len(set(values))
    return extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--fail-rate", type=float, default=0.2)
    parser.add_argument("--rate-limit", type=float, default=5.0)
    parser.add_argument("--max-applies", type=int, default=5)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as work:
        config = Path(work) / "config"
        shutil.copytree(ROOT / "examples" / "config", config)
        for seed in (int(s) for s in args.seeds.split(",")):
            result = run_seed(seed, args.fail_rate, args.rate_limit, args.max_applies, config)
            results.append(result)
            print(f"seed {seed}: applies {result['applies'] or 'not converged'}, "
                  f"{result['requests']} requests, {result['duplicates']} duplicates", flush=True)
    print(json.dumps({"fail_rate": args.fail_rate, "rate_limit": args.rate_limit, "results": results}))


if __name__ == "__main__":
    main()
