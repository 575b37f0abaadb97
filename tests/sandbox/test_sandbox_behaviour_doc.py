"""The table of simulated behaviour (docs/sandbox-behaviour.md) keeps up with the sandbox: every error
code the sandbox's code can answer with has a row, and every row says documented or assumed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import reconciler.sandbox
from reconciler.sandbox.errors import TITLES

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "sandbox-behaviour.md"
SANDBOX = Path(reconciler.sandbox.__file__).parent
CODE = re.compile(r"^100\d\d$")


def codes_in_the_sandbox() -> set[str]:
    """Every Telnyx error code written in the sandbox's source: its catalogue and each code raised."""
    found = set(TITLES)
    for path in SANDBOX.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.match(node.value):
                found.add(node.value)
    return found


def rows(text: str) -> list[list[str]]:
    table = [line for line in text.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in table]
    return [row for row in cells if not set(row[0]) <= {"-"} and row[0] not in ("behaviour", "code")]


def test_every_error_code_the_sandbox_can_answer_with_is_in_the_table() -> None:
    codes = codes_in_the_sandbox()
    assert {"10004", "10015", "10021", "10012"} <= codes  # the scan finds the codes it should
    assert codes <= set(TITLES), f"codes raised but not in the catalogue: {sorted(codes - set(TITLES))}"
    listed = {row[0] for row in rows(DOC.read_text()) if CODE.match(row[0])}
    assert codes - listed == set(), f"codes missing from {DOC.name}: {sorted(codes - listed)}"


def test_every_behaviour_is_marked_documented_or_assumed() -> None:
    table = rows(DOC.read_text())
    assert len(table) > 60
    unmarked = [row[0] for row in table if not re.search(r"\b(documented|assumed)\b", " ".join(row[1:]))]
    assert unmarked == []


def test_the_sandbox_package_points_to_the_table() -> None:
    assert "docs/sandbox-behaviour.md" in (reconciler.sandbox.__doc__ or "")
