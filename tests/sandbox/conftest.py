"""Fixtures for the sandbox tests; the helpers they use live in sandbox_support.py."""

from __future__ import annotations

from typing import Iterator

import httpx
import pytest
from sandbox_support import Clock, client_for

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
