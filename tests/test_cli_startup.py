"""The commands that need no account start without the sandbox, the HTTP stack, the differ or jsonschema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli.app import DEFAULT_BASE_URL
from reconciler.client import DEFAULT_BASE_URL as CLIENT_DEFAULT_BASE_URL

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("reconciler.sandbox", "httpx", "httpcore", "jsonschema", "openapi_schema_validator")
# Runs the real console entry point, then lists what it imported.
PROBE = """
import json, sys
from reconciler.cli import main
sys.argv = ["telnyx-reconciler", *sys.argv[1:]]
try:
    main()
except SystemExit as exit_:
    code = exit_.code
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def imported(*args: str, cwd: Path = ROOT) -> tuple[int, list[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=cwd, timeout=60)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["exit"], report["modules"]


@pytest.mark.parametrize("args", [("--help",), ("validate", "examples/config"), ("schema", "--out", "{tmp}")])
def test_commands_without_an_account_import_no_sandbox_http_or_differ(args: tuple[str, ...], tmp_path: Path) -> None:
    code, modules = imported(*(a.format(tmp=tmp_path) for a in args))
    assert code == 0
    heavy = [m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY)]
    assert heavy == []


def test_help_loads_neither_the_models_nor_the_kinds() -> None:
    code, modules = imported("--help")
    assert code == 0 and "pydantic" not in modules and "reconciler.kinds" not in modules


def test_the_export_kinds_are_still_offered_and_checked() -> None:
    code, modules = imported("export", "--kind", "nope")
    assert code == 1 and "reconciler.kinds" in modules
    shown = subprocess.run([sys.executable, "-m", "reconciler", "export", "--help"], capture_output=True, text=True,
                           cwd=ROOT, timeout=60)
    assert "[billing_groups|access_ips|addresses|sso_providers|" in shown.stdout


def test_the_cli_and_the_client_default_to_the_same_api() -> None:
    assert DEFAULT_BASE_URL == CLIENT_DEFAULT_BASE_URL
