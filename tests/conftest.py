"""Fixtures: a sandbox account, seeded like the examples, served on loopback and checked against the spec."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support import API_KEY, EXAMPLES, Account, check_against_spec

from reconciler.sandbox import Sandbox, load_seed


@pytest.fixture
def seed() -> dict[str, Any]:
    return load_seed(EXAMPLES / "sandbox-seed.yaml")


@pytest.fixture
def account(seed: dict[str, Any]) -> Iterator[Account]:
    sandbox = Sandbox(api_key=API_KEY, seed=seed)
    the_account = Account(sandbox, "")
    check_against_spec(sandbox, the_account.violations)
    with sandbox.serve() as url:
        the_account.url = url
        yield the_account
    assert the_account.violations == [], "\n".join(the_account.violations)


