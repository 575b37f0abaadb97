"""The one list-shortening helper, and a message that uses it."""

from __future__ import annotations

import pytest

from reconciler.errors import UnsafePlanError
from reconciler.plan import Action, Change, Plan, SafetyLimits, check_safety
from reconciler.text import shortened


def test_a_list_within_the_limit_is_shown_whole() -> None:
    assert shortened([], 2) == ""
    assert shortened(["a", "b"], 2) == "a, b"


def test_a_longer_list_shows_its_first_items_and_counts_the_rest() -> None:
    assert shortened(["a", "b", "c", "d", "e"], 2) == "a, b and 3 more"


def test_releasing_many_numbers_names_ten_and_counts_the_rest() -> None:
    numbers = [f"+1555000{i:04d}" for i in range(13)]
    plan = Plan(tuple(Change("phone_numbers", n, Action.DELETE, {"phone_number": n}, None, irreversible=True)
                      for n in numbers))
    with pytest.raises(UnsafePlanError) as refused:
        check_safety(plan, SafetyLimits(min_existing=10**6))
    assert ", ".join(f"phone_numbers[{n}]" for n in numbers[:10]) + " and 3 more" in refused.value.message
