"""Fixtures: a sandbox account, seeded like the examples, served on loopback and checked against the spec."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support import API_KEY, EXAMPLES, Account, served

from reconciler.sandbox import Sandbox, load_seed


@pytest.fixture
def seed() -> dict[str, Any]:
    return load_seed(EXAMPLES / "sandbox-seed.yaml")


@pytest.fixture
def account(seed: dict[str, Any]) -> Iterator[Account]:
    with served(Sandbox(api_key=API_KEY, seed=seed)) as the_account:
        yield the_account


