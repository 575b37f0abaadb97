"""Helpers for the end-to-end tests: a sandbox account served on loopback, and the real CLI run against it.

Every request that reaches the sandbox during a test, and every answer it gives, is checked against the
Telnyx OpenAPI subset; a test fails if any does not conform.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml_rs
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.sandbox import Sandbox, SandboxResponse
from reconciler.sandbox.spec import validate_request, validate_response

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
API_KEY = "KEY0193-e2e-test-key-never-printed"
WRITE_METHODS = {"POST", "PATCH", "DELETE"}
# POSTs that ask and change nothing: a plan may send them.
QUESTIONS = ("/phone_numbers/actions/verify_ownership", "/addresses/actions/validate")
ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


def example_variable_names() -> list[str]:
    """The variables examples/config reads with `${env:NAME}` (its integration secrets' values); comments,
    which may show the syntax, are not read."""
    values = json.dumps([yaml_rs.loads(path.read_text()) for path in sorted((EXAMPLES / "config").glob("*.yaml"))])
    return sorted(set(ENV_REFERENCE.findall(values)))


@dataclass
class Account:
    """A sandbox account, served over HTTP, and the CLI pointed at it."""

    sandbox: Sandbox
    url: str
    violations: list[str] = field(default_factory=list)

    def run(self, *args: str, input: str | None = None, env: Mapping[str, str] | None = None) -> Result:
        environment = {"TELNYX_API_KEY": API_KEY, "TELNYX_BASE_URL": self.url, **(env or {})}
        return CliRunner().invoke(cli, list(args), input=input, env=environment, catch_exceptions=False)

    def writes(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.sandbox.requests
                if r.method in WRITE_METHODS and not r.path.endswith(QUESTIONS)]

    def request_count(self) -> int:
        return len(self.sandbox.requests)

    def plan_through_faults(self, config: str, tries: int = 3) -> Result:
        """`plan --detailed-exitcode` under injected faults: a request can fail on every retry (exit 1,
        nothing learnt about the account), so this is the first plan that got its answers."""
        for _ in range(tries):
            result = self.run("plan", config, "--detailed-exitcode")
            if "failed after retries" not in result.stderr:
                break
        return result

    def planned(self, config: str) -> int:
        """How many changes a plan of `config` holds now (what an apply of it should report)."""
        return len(json.loads(self.run("plan", config, "--format", "json").stdout)["changes"])


@contextmanager
def served(sandbox: Sandbox, *, check: bool = True) -> Iterator[Account]:
    """The sandbox served on loopback with the CLI pointed at it; with `check`, the block fails if any
    request or response broke the contract."""
    account = Account(sandbox, "")
    if check:
        check_against_spec(sandbox, account.violations)
    with sandbox.serve() as url:
        account.url = url
        yield account
    assert account.violations == [], "\n".join(account.violations[:10])


def check_against_spec(sandbox: Sandbox, violations: list[str]) -> None:
    """Wrap the sandbox so each request and response is validated against the contract."""
    handle = sandbox.handle

    def checked(method: str, path: str, query: Sequence[tuple[str, str]], headers: Mapping[str, str], body: bytes) -> SandboxResponse:
        parsed: Any = json.loads(body) if body else None
        for problem in validate_request(method, path, list(query), parsed):
            violations.append(f"request {method} {path}: {problem}")
        response = handle(method, path, query, headers, body)
        for problem in validate_response(method, path, response.status, response.body):
            violations.append(f"response {response.status} to {method} {path}: {problem}")
        return response

    sandbox.handle = checked  # type: ignore[method-assign]


def write_config(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path
