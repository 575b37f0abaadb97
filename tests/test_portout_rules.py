"""The port-out rules as pure decisions: dates in the order's own time zone, whole-day bounds."""

from __future__ import annotations

from datetime import date

import pytest

from reconciler.policies.portout_rules import Match


@pytest.mark.parametrize(
    ("requested", "bound", "before", "after"),
    [
        # 23:30 on the 5th in New York is the 6th in UTC: the order's own day is the 5th
        ("2026-12-05T23:30:00-05:00", date(2026, 12, 6), True, False),
        ("2026-12-05T23:30:00-05:00", date(2026, 12, 5), False, False),  # that whole day is neither before nor after
        ("2026-12-05", date(2026, 12, 4), False, True),
        ("2026-12-06T00:30:00+09:00", date(2026, 12, 5), False, True),  # still the 5th in UTC, the 6th in Tokyo
    ],
)
def test_foc_dates_compare_as_calendar_days_in_the_orders_own_time_zone(requested: str, bound: date, before: bool, after: bool) -> None:
    order = {"requested_foc_date": requested}
    assert Match(foc_before=bound).evaluate("+13125550101", set(), order) == (before, [])
    assert Match(foc_after=bound).evaluate("+13125550101", set(), order) == (after, [])
