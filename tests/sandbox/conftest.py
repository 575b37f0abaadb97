"""Fixtures for the sandbox tests; the helpers they use live in sandbox_support.py."""

from __future__ import annotations

from typing import Iterator

import httpx
import pytest
from sandbox_support import Clock, account_seed, client_for

from reconciler.sandbox import Sandbox


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> Sandbox:
    return Sandbox(clock=clock)


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with client_for(sandbox) as client:
        yield client


@pytest.fixture
def account(clock: Clock) -> Sandbox:
    """A sandbox holding `account_seed()`; background jobs take 10 s plus 1 s per number."""
    return Sandbox(clock=clock, seed=account_seed(), job_seconds=10, job_seconds_per_number=1)


@pytest.fixture
def numbers_api(account: Sandbox) -> Iterator[httpx.Client]:
    with client_for(account) as client:
        yield client
