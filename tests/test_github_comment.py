"""The plan comment's text: within the size limit, the small kinds whole and the largest shortened, the
counts of what was left out exact; its marker found again only for its own config and author."""

from __future__ import annotations

import re

from reconciler.github.client import MAX_BODY
from reconciler.github.comment import failure_body, find_reviewed, plan_body
from reconciler.plan import Action, Attention, Change, FieldChange, Plan
from reconciler.render import render_markdown_limited


def update(kind: str, key: str) -> Change:
    return Change(kind, key, Action.UPDATE, {"tags": []}, {"tags": ["x"]}, (FieldChange("tags", [], ["x"]),), "", key)


def test_the_largest_kind_is_shortened_first_and_the_rest_are_whole() -> None:
    changes = [update("billing_groups", f"Group {i}") for i in range(5)]
    changes += [update("phone_numbers", f"+1312555{i:04d}") for i in range(10_000)]
    plan = Plan(tuple(changes), attention=(Attention("portout_policy", "PO-1", "manual", "2026-12-03T00:00:00Z"),))
    text = render_markdown_limited(plan, 20_000, more_where=" in the job summary")
    assert len(text) <= 20_000
    assert all(f"`billing_groups[Group {i}]`" in text for i in range(5)) and "`portout_policy[PO-1]`" in text
    shown = len(re.findall(r"`phone_numbers\[", text))
    assert 0 < shown < 10_000
    assert f"… and {10_000 - shown:,} more changes in the job summary" in text
    assert "| `phone_numbers` | 0 | 10,000 | 0 | 0 |" in text
    assert text.index("| kind |") < text.index("<details>")


def test_a_plan_that_fits_is_shown_whole() -> None:
    plan = Plan(tuple(update("billing_groups", f"Group {i}") for i in range(30)))
    text = plan_body("telnyx/", plan)
    assert "more changes" not in text and text.count("`billing_groups[") == 30


def test_a_config_with_thousands_of_problems_still_fits_in_one_comment() -> None:
    lines = [f"telnyx/numbers.yaml:{i}:3: tags: must be a list" for i in range(20_000)]
    body = failure_body("telnyx/", "the config is invalid", lines)
    assert len(body) <= MAX_BODY and "telnyx/numbers.yaml:1:3" in body and "checksum=none" in body


def test_only_the_authors_comment_for_the_same_config_counts_and_the_last_one_wins() -> None:
    first, second = Plan((update("billing_groups", "A"),)), Plan((update("billing_groups", "B"),))
    comments = [
        {"id": 1, "body": plan_body("telnyx/", first), "user": {"login": "github-actions[bot]"}},
        {"id": 2, "body": plan_body("other/", second), "user": {"login": "github-actions[bot]"}},
        {"id": 3, "body": plan_body("telnyx/", second), "user": {"login": "someone"}},
        {"id": 4, "body": plan_body("telnyx/", second), "user": {"login": "github-actions[bot]"}},
    ]
    found = find_reviewed(comments, "telnyx/", "github-actions[bot]")
    assert found is not None and (found.comment_id, found.checksum) == (4, second.checksum)
    assert find_reviewed(comments[:3], "telnyx/", "github-actions[bot]").checksum == first.checksum  # type: ignore[union-attr]
    assert find_reviewed(comments, "a --> b", "github-actions[bot]") is None
    assert "-->" not in plan_body("a --> b", first).split("\n", 1)[0][:-3]
