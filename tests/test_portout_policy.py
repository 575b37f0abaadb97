"""The port-out policy, end to end: the real CLI against a sandbox holding pending port-outs.

A team protects its VIP numbers, lets numbers tagged `churned` go to any carrier, and leaves the rest to a
person. Plan shows every pending order with its action and the time left; apply answers the decided ones;
drift keeps exiting 2 while a manual order waits, and 0 once none is left.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from support import API_KEY, Account, served, write_config

from reconciler.sandbox import Sandbox

NOW = datetime.now(timezone.utc)
VIP, CHURNED, OTHER, CHURNED_2 = "+13125550101", "+13125550102", "+13125550103", "+13125550104"

POLICY = """\
portout_policy:
  deadline_hours: 48
  rules:
    - name: protect-vip
      match: {tags: [vip]}
      action: reject
      reason: The port-out PIN given does not match the one on the account.
      rejection_code: 1002
      comment: Rejected by the port-out policy in git; the customer did not authorize this port.
    - name: let-churned-go
      match: {tags: [churned]}
      action: authorize
      reason: The customer has cancelled.
"""


def _order(number: list[str], hours_ago: float, carrier: str, key: str) -> dict[str, Any]:
    created = (NOW - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"phone_numbers": number, "carrier_name": carrier, "spid": "123A", "support_key": key,
            "created_at": created, "requested_foc_date": (NOW + timedelta(days=5)).strftime("%Y-%m-%dT00:00:00Z")}


def _seed() -> dict[str, Any]:
    numbers = [{"phone_number": VIP, "tags": ["vip"]}, {"phone_number": CHURNED, "tags": ["churned"]},
               {"phone_number": OTHER, "tags": []}, {"phone_number": CHURNED_2, "tags": ["churned"]}]
    return {
        "phone_numbers": numbers,
        "portouts": [
            _order([VIP], 10, "Rival Mobile", "SK-VIP"),
            _order([CHURNED], 20, "Rival Mobile", "SK-CHURN"),
            _order([OTHER], 40, "Rival Mobile", "SK-OTHER"),  # closest to its deadline
            _order([CHURNED_2, VIP], 5, "Rival Mobile", "SK-MIXED"),
        ],
    }


@pytest.fixture
def policy_account(tmp_path: Path) -> Iterator[tuple[Account, Path]]:
    config = write_config(tmp_path, "policy.yaml", POLICY)
    with served(Sandbox(api_key=API_KEY, seed=_seed())) as account:
        yield account, config


def _statuses(account: Account) -> dict[str, str]:
    return {o["support_key"]: o["status"] for o in account.sandbox.state.all("portouts")}


def test_plan_shows_each_pending_portout_with_action_and_time_left(policy_account: tuple[Account, Path]) -> None:
    account, config = policy_account
    result = account.run("plan", str(config), "--detailed-exitcode")
    assert result.exit_code == 2, result.output
    out = result.output
    assert "SK-VIP" in out and "rule 'protect-vip' protects +13125550101" in out
    assert "SK-CHURN" in out and "authorize" in out
    assert "manual" in out and "SK-OTHER" in out and "no rule matches" in out
    assert "left before it is authorized automatically" in out
    # the mixed order holds a protected number: rejected as a whole, and the plan says why
    assert "so the whole order is rejected although it also holds +13125550104" in out
    assert "Plan: 0 to create, 3 to update" in out
    assert account.writes() == []


def test_apply_answers_decided_orders_and_drift_waits_for_the_manual_one(policy_account: tuple[Account, Path]) -> None:
    account, config = policy_account
    assert account.run("drift", str(config)).exit_code == 2
    result = account.run("apply", str(config), "--auto-approve")
    assert result.exit_code == 0, result.output
    assert _statuses(account) == {"SK-VIP": "rejected-pending", "SK-CHURN": "authorized", "SK-OTHER": "pending",
                                  "SK-MIXED": "rejected-pending"}
    vip = next(o for o in account.sandbox.state.all("portouts") if o["support_key"] == "SK-VIP")
    assert vip["reason"].startswith("[1002: Invalid PIN] The port-out PIN given does not match")
    assert [c["body"] for c in vip["_comments"]] == ["Rejected by the port-out policy in git; the customer did not authorize this port."]
    churned = next(o for o in account.sandbox.state.all("portouts") if o["support_key"] == "SK-CHURN")
    assert churned["reason"] == "The customer has cancelled."

    drift = account.run("drift", str(config), "--format", "markdown")
    assert drift.exit_code == 2
    assert "Waiting for a person: 1" in drift.output and "SK-OTHER" in drift.output

    # a person answers the manual order in the portal; nothing is left
    other = next(o for o in account.sandbox.state.all("portouts") if o["support_key"] == "SK-OTHER")
    account.sandbox.handle("PATCH", f"/v2/portouts/{other['id']}/authorized", [],
                           {"authorization": f"Bearer {API_KEY}"}, json.dumps({"reason": "ok"}).encode())
    final = account.run("drift", str(config))
    assert final.exit_code == 0, final.output


def test_markdown_drift_lists_manual_orders_closest_deadline_first(tmp_path: Path) -> None:
    seed = _seed()
    seed["portouts"] = [_order([OTHER], 2, "A", "SK-LATER"), _order([OTHER], 45, "B", "SK-SOON"),
                        _order([OTHER], 30, "C", "SK-MIDDLE")]
    sandbox = Sandbox(api_key=API_KEY, seed=seed)
    config = write_config(tmp_path, "policy.yaml", "portout_policy:\n  rules: []\n")
    with sandbox.serve() as url:
        result = Account(sandbox, url).run("drift", str(config), "--format", "markdown")
    assert result.exit_code == 2
    out = result.output
    assert out.index("SK-SOON") < out.index("SK-MIDDLE") < out.index("SK-LATER")


def test_json_plan_carries_the_waiting_orders_with_deadlines(policy_account: tuple[Account, Path]) -> None:
    account, config = policy_account
    document = json.loads(account.run("plan", str(config), "--format", "json").output)
    [waiting] = document["attention"]
    assert waiting["kind"] == "portout_policy" and waiting["details"]["support_key"] == "SK-OTHER"
    deadline = datetime.fromisoformat(waiting["deadline"])
    assert timedelta(hours=7) < deadline - NOW < timedelta(hours=9)
    assert {c["after"]["status"] for c in document["changes"]} == {"authorized", "rejected-pending"}


@pytest.mark.parametrize(
    ("code_line", "expected"),
    [
        ("      rejection_code: 4242\n", ["code 4242, which this order does not accept (eligible: 1002 (Invalid PIN)"]),
        ("", ["can only be rejected with one of its eligible codes: 1002 (Invalid PIN)",
              "choose one with `rejection_code:`"]),
    ],
    ids=["ineligible code", "no code"],
)
def test_an_order_the_rule_cannot_reject_waits_for_a_person_and_the_rest_proceeds(
        tmp_path: Path, code_line: str, expected: list[str]) -> None:
    config = write_config(tmp_path, "policy.yaml", POLICY.replace("      rejection_code: 1002\n", code_line))
    with served(Sandbox(api_key=API_KEY, seed=_seed())) as account:
        plan = account.run("plan", str(config), "--target", "portout_policy:SK-CHURN")
        assert plan.exit_code == 0, plan.output
        drift = account.run("drift", str(config))
        assert drift.exit_code == 2
        for words in expected:
            assert words in drift.output
        assert "manual: cannot be rejected as the policy says" in drift.output
        result = account.run("apply", str(config), "--auto-approve")
        assert result.exit_code == 0, result.output
        assert _statuses(account) == {"SK-VIP": "pending", "SK-CHURN": "authorized", "SK-OTHER": "pending",
                                      "SK-MIXED": "pending"}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("    - {name: r, action: reject, match: {tags: [vip]}}\n", "rule 'r' rejects and needs a `reason`"),
        ("    - {name: r, action: approve, match: {any: true}}\n", "rules.0.action: Input should be 'authorize', 'reject' or 'manual'"),
        ("    - {name: r, action: authorize, match: {phone_numbers: ['3125550101']}}\n", "not in E.164 format"),
        # a rule without a real condition would authorize every order, protected numbers included
        ("    - {name: r, action: authorize, match: {tags: }}\n", "match has no condition"),
        ("    - {name: r, action: authorize, match: {}}\n", "match has no condition"),
        ("    - {name: r, action: authorize}\n", "rule 'r' has no `match`"),
        ("    - {name: r, action: authorize, match: {tags: []}}\n", "tags is empty and would match nothing"),
        ("    - {name: r, action: authorize, match: {any: false}}\n", "rules.0.match.any: Input should be True"),
        ("    - {name: r, action: authorize, match: {any: true, tags: [a]}}\n", "takes no other condition"),
        ("    - {name: r, action: authorize, match: {any: true}}\n    - {name: s, action: manual, match: {tags: [a]}}\n",
         "rule 'r' matches every number (`any: true`), so the rules after it would never apply"),
        ("  deadline_hours: .inf\n", "deadline_hours: Input should be a finite number"),
        ("  deadline_hours: 72\n", "deadline_hours: Input should be less than or equal to 48"),
    ],
)
def test_bad_rules_are_validation_errors_with_file_and_line(tmp_path: Path, rule: str, expected: str) -> None:
    text = "portout_policy:\n" + (rule if "deadline" in rule else "  rules:\n" + rule)
    config = write_config(tmp_path, "policy.yaml", text)
    result = Account(Sandbox(api_key=API_KEY), "http://127.0.0.1:9").run("validate", str(config))
    assert result.exit_code == 1
    line = 2 if "deadline" in rule or "after it" in expected else 3  # the order of rules is the list's
    assert f"{config}:{line}" in result.output and expected in result.output, result.output
    assert "Traceback" not in result.output


def test_a_saved_plan_applies_although_its_time_left_has_moved_on(policy_account: tuple[Account, Path], tmp_path: Path) -> None:
    account, config = policy_account
    planfile = tmp_path / "reviewed.tfplan"
    assert account.run("plan", str(config), "--out", str(planfile)).exit_code == 0
    saved = json.loads(planfile.read_text())
    # the reason words count down; a reviewed plan is pinned by what it does, not by those words
    for change in saved["plan"]["changes"]:
        change["reason"] = change["reason"].replace("left before", "(earlier) left before")
    planfile.write_text(json.dumps(saved))
    result = account.run("apply", str(planfile))
    assert result.exit_code == 0, result.output
    assert _statuses(account)["SK-CHURN"] == "authorized"


def test_the_rejection_code_is_recorded_on_the_order(policy_account: tuple[Account, Path]) -> None:
    account, config = policy_account
    assert account.run("apply", str(config), "--auto-approve").exit_code == 0
    vip = next(o for o in account.sandbox.state.all("portouts") if o["support_key"] == "SK-VIP")
    assert vip["rejection_code"] == 1002


def _phone_number_reads(account: Account) -> list[str]:
    return [r.path for r in account.sandbox.requests if r.method == "GET" and r.path == "/v2/phone_numbers"]


def test_a_large_order_reads_the_tagged_numbers_by_tag_not_one_by_one(tmp_path: Path) -> None:
    bulk = [f"+1312556{i:04d}" for i in range(120)]
    seed = {"phone_numbers": [{"phone_number": n, "tags": ["vip"] if i == 77 else []} for i, n in enumerate(bulk)],
            "portouts": [_order(bulk, 3, "Rival Mobile", "SK-BULK")]}
    config = write_config(tmp_path, "policy.yaml", POLICY)
    with served(Sandbox(api_key=API_KEY, seed=seed)) as account:
        result = account.run("plan", str(config))
        assert result.exit_code == 0, result.output
        assert f"rule 'protect-vip' protects {bulk[77]}, so the whole order is rejected" in result.output
        assert len(_phone_number_reads(account)) == 2  # one list per rule tag (vip, churned), not 120 lookups


def test_a_policy_without_tag_rules_reads_no_phone_numbers(tmp_path: Path) -> None:
    config = write_config(tmp_path, "policy.yaml", "portout_policy:\n  rules:\n    - {name: any, action: manual, match: {any: true}}\n")
    with served(Sandbox(api_key=API_KEY, seed=_seed())) as account:
        assert account.run("drift", str(config)).exit_code == 2
        assert _phone_number_reads(account) == []
