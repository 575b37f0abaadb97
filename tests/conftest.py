"""Fixtures: a sandbox account, seeded like the examples, served on loopback and checked against the spec."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from support import API_KEY, EXAMPLES, Account, example_variable_names, served

from reconciler.sandbox import Sandbox, load_seed


@pytest.fixture(scope="session", autouse=True)
def _examples_untouched() -> Iterator[None]:
    """No test may write into the repository's examples (an apply writes its state and lock files beside
    the config it is given): they would change what later tests and the demo start from."""
    before = sorted(p.relative_to(EXAMPLES) for p in EXAMPLES.rglob("*"))
    yield
    after = sorted(p.relative_to(EXAMPLES) for p in EXAMPLES.rglob("*"))
    assert after == before, f"tests left files in examples/: {sorted(set(map(str, after)) - set(map(str, before)))}"


@pytest.fixture(autouse=True)
def _example_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """examples/config's secrets read `${env:NAME}`: every test runs with them set, as CI passes them from
    its secrets. Each value is long and new, so a test can grep any output for it."""
    for name in example_variable_names():
        monkeypatch.setenv(name, f"example-{name.lower()}-{secrets.token_hex(8)}")


@pytest.fixture
def seed() -> dict[str, Any]:
    return load_seed(EXAMPLES / "sandbox-seed.yaml")


@pytest.fixture
def account(seed: dict[str, Any]) -> Iterator[Account]:
    with served(Sandbox(api_key=API_KEY, seed=seed)) as the_account:
        yield the_account


