"""The one back-off policy: its schedule, and every waiting loop of the tool follows it."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from reconciler import portouts, retry
from reconciler.errors import ReconcilerError
from reconciler.kinds import number_jobs
from test_client import GROUPS, FakeAccount


def test_the_delays_double_from_the_first_up_to_the_cap() -> None:
    assert list(itertools.islice(retry.delays(), 7)) == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    rng = random.Random(0)
    for attempt, ceiling in enumerate([0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]):
        assert ceiling / 2 <= retry.jittered(attempt, 0.5, rng) <= ceiling


def test_the_client_job_polling_and_report_polling_share_one_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "MAX_DELAY", 2.0)

    account = FakeAccount(groups=1)
    account.fail("GET", 503, times=6)
    account.client(max_retries=6, backoff=0.5).list_all(GROUPS)
    assert max(account.sleeps) <= 2.0 and min(account.sleeps[3:]) >= 1.0

    class Pending:
        def get(self, path: str, params: Any = None, *, what: str = "") -> dict[str, Any]:
            return {"data": {"id": "r1", "status": "pending", "pending": ["+15550000001"]}}

    slept: list[float] = []
    number_jobs._wait_for_orders(Pending(), {"o1": {"pending": ["+15550000001"]}},  # type: ignore[arg-type]
                                 slept.append)
    assert slept[:5] == [0.5, 1.0, 2.0, 2.0, 2.0]

    slept = []
    with pytest.raises(ReconcilerError, match="still pending"):
        portouts.wait_for_report(Pending(), "r1", timeout=7, sleep=slept.append,  # type: ignore[arg-type]
                                 clock=lambda: sum(slept))
    assert slept == [0.5, 1.0, 2.0, 2.0, 1.5]
