"""The port-out policy fails safe: the real CLI (or the apply pipeline, where a person acts between the plan
and the answers) against a sandbox holding pending port-outs.

A team protects numbers tagged `vip` (their customers keep a port-out PIN to themselves), lets numbers
tagged `churned` go, and leaves the rest to a person. Other carriers' orders arrive at awkward moments,
people answer orders in the portal while the tool works, and the API fails now and then.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from support import API_KEY, Account, served, write_config
from test_portout_policy import POLICY

from reconciler import pipeline, portouts
from reconciler.client import TelnyxClient
from reconciler.errors import ApplyError
from reconciler.sandbox import Sandbox
from reconciler.sandbox.resources import portouts as sandbox_portouts

VIP, CHURNED, OTHER, MOBILE_VIP, NOT_OURS = "+13125550101", "+13125550102", "+13125550103", "+13125559001", "+13125550199"

CATCH_ALL = "    - name: the-rest\n      match: {any: true}\n      action: authorize\n      reason: Nothing protects it.\n"


def _time(hours: float) -> str:
    """Now (when the order is made, not when the tests were collected) plus `hours`."""
    return (datetime.now(timezone.utc) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _order(numbers: list[str], hours_ago: float, key: str, **extra: Any) -> dict[str, Any]:
    return {"phone_numbers": numbers, "carrier_name": "Rival Mobile", "spid": "123A", "support_key": key,
            "created_at": _time(-hours_ago), "requested_foc_date": _time(24 * 5), **extra}


def _seed(*orders: dict[str, Any]) -> dict[str, Any]:
    tagged = {VIP: ["vip"], CHURNED: ["churned"], OTHER: []}
    return {"phone_numbers": [{"phone_number": n, "tags": t} for n, t in tagged.items()],
            "mobile_phone_numbers": [{"phone_number": MOBILE_VIP, "tags": ["vip"]}],
            "portouts": list(orders)}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, "policy.yaml", POLICY)


def _orders(account: Account) -> dict[str, dict[str, Any]]:
    return {o["support_key"]: o for o in account.sandbox.state.all("portouts")}


def _statuses(account: Account) -> dict[str, str]:
    return {key: o["status"] for key, o in _orders(account).items()}


def _person(account: Account, key: str, status: str, body: dict[str, Any]) -> None:
    """Someone answers an order in the portal."""
    order = _orders(account)[key]
    answered = account.sandbox.handle("PATCH", f"/v2/portouts/{order['id']}/{status}", [],
                                      {"authorization": f"Bearer {API_KEY}"}, json.dumps(body).encode())
    assert answered.status == 200, answered.body


def _answers(account: Account) -> list[str]:
    """The support keys of the orders the tool answered, in the order the answers were sent."""
    by_id = {o["id"]: key for key, o in _orders(account).items()}
    return [by_id[r.path.split("/")[3]] for r in account.sandbox.requests if r.method == "PATCH"]


@contextmanager
def client_for(account: Account) -> Iterator[TelnyxClient]:
    with TelnyxClient(API_KEY, account.url, backoff=0.01) as client:
        yield client


# --- 1. a rule with no condition; a catch-all is named -----------------------------------------------


def test_a_catch_all_rule_is_named_in_the_plan(tmp_path: Path) -> None:
    config = write_config(tmp_path, "policy.yaml", POLICY + CATCH_ALL)
    with served(Sandbox(api_key=API_KEY, seed=_seed(_order([OTHER], 3, "SK-OTHER")))) as account:
        result = account.run("plan", str(config))
        assert result.exit_code == 0, result.output
        assert "warning: port-out rule 'the-rest' matches every number (`any: true`)" in result.output


# --- 2. protected mobile numbers ----------------------------------------------------------------------


def test_a_protected_mobile_number_is_rejected_not_authorized_by_a_later_rule(tmp_path: Path) -> None:
    config = write_config(tmp_path, "policy.yaml", POLICY + CATCH_ALL)
    with served(Sandbox(api_key=API_KEY, seed=_seed(_order([MOBILE_VIP], 3, "SK-MOBILE")))) as account:
        result = account.run("apply", str(config), "--auto-approve")
        assert result.exit_code == 0, result.output
        assert _statuses(account) == {"SK-MOBILE": "rejected-pending"}


# --- 3. a condition that cannot be evaluated -----------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "order", "words"),
    [
        ("    - {name: late, match: {foc_before: 2020-01-01}, action: reject, reason: Wrong account number.}\n",
         _order([OTHER], 3, "SK-X", requested_foc_date=None), "rule 'late' cannot be evaluated: the order has no requested FOC date"),
        ("", _order([NOT_OURS], 3, "SK-X"),
         f"rule 'protect-vip' cannot be evaluated: {NOT_OURS} is not in the account, so its tags are unknown"),
        ("    - {name: rival, match: {spid: 073h}, action: reject, reason: Wrong account number.}\n",
         _order([OTHER], 3, "SK-X", spid=None), "rule 'rival' cannot be evaluated: the order has no SPID"),
    ],
    ids=["no FOC date", "number not in the account", "no SPID"],
)
def test_a_rule_that_cannot_be_evaluated_sends_the_number_to_a_person(
        tmp_path: Path, rule: str, order: dict[str, Any], words: str) -> None:
    text = POLICY.replace("  rules:\n", "  rules:\n" + rule) + CATCH_ALL
    config = write_config(tmp_path, "policy.yaml", text)
    with served(Sandbox(api_key=API_KEY, seed=_seed({k: v for k, v in order.items() if v is not None}))) as account:
        result = account.run("apply", str(config), "--auto-approve")
        assert result.exit_code == 0, result.output
        assert words in result.output and "Waiting for a person (1)" in result.output
        assert _statuses(account) == {"SK-X": "pending"}


@pytest.mark.parametrize(("condition", "carrier", "spid"), [
    ("carrier_name: [rival mobile]", "Rival Mobile ", "999Z"),
    ("spid: [073H]", "Someone", "073h"),
])
def test_carriers_and_spids_compare_ignoring_case_and_spaces(tmp_path: Path, condition: str, carrier: str, spid: str) -> None:
    rule = f"    - {{name: rival, match: {{{condition}}}, action: reject, reason: Wrong account number., rejection_code: 1003}}\n"
    config = write_config(tmp_path, "policy.yaml", POLICY.replace("  rules:\n", "  rules:\n" + rule) + CATCH_ALL)
    seed = _seed(_order([OTHER], 3, "SK-X", carrier_name=carrier, spid=spid))
    with served(Sandbox(api_key=API_KEY, seed=seed)) as account:
        assert account.run("apply", str(config), "--auto-approve").exit_code == 0
        assert _orders(account)["SK-X"]["rejection_code"] == 1003


def test_a_foc_bound_is_a_calendar_day_in_the_orders_own_time_zone(tmp_path: Path) -> None:
    rule = "    - {name: early, match: {foc_before: 2027-03-06}, action: reject, reason: Wrong account number., rejection_code: 1003}\n"
    config = write_config(tmp_path, "policy.yaml", POLICY.replace("  rules:\n", "  rules:\n" + rule) + CATCH_ALL)
    # 23:30 on 5 March in Chicago is 6 March in UTC; the order's own day is the 5th, before the bound
    seed = _seed(_order([OTHER], 3, "SK-X", requested_foc_date="2027-03-05T23:30:00-06:00"))
    with served(Sandbox(api_key=API_KEY, seed=seed)) as account:
        assert account.run("apply", str(config), "--auto-approve").exit_code == 0
        assert _statuses(account) == {"SK-X": "rejected-pending"}


# --- 4. rejections first, closest deadline first; one failure does not stop the rest ------------------


def test_rejections_go_out_first_closest_deadline_first(config: Path) -> None:
    seed = _seed(_order([CHURNED], 47.5, "SK-A-CHURN"), _order([VIP], 3, "SK-B-VIP"), _order([VIP], 47.99, "SK-C-VIP"),
                 _order([VIP], 3.5, "SK-D-VIP"))
    with served(Sandbox(api_key=API_KEY, seed=seed)) as account:
        result = account.run("apply", str(config), "--auto-approve")
        assert result.exit_code == 0, result.output
        assert _answers(account) == ["SK-C-VIP", "SK-D-VIP", "SK-B-VIP", "SK-A-CHURN"]
        assert set(_statuses(account).values()) == {"rejected-pending", "authorized"}


def test_orders_answered_or_changed_after_the_plan_are_skipped_and_the_rest_answered(config: Path) -> None:
    seed = _seed(_order([VIP], 3, "SK-1"), _order([VIP], 4, "SK-2"), _order([CHURNED], 5, "SK-3"), _order([VIP], 6, "SK-4"))
    with served(Sandbox(api_key=API_KEY, seed=seed)) as account, client_for(account) as client:
        desired = pipeline.load_desired([str(config)])
        shown = pipeline.plan_from_account(client, desired)  # what an interactive apply shows at its prompt
        _person(account, "SK-1", "authorized", {"reason": "The customer called to confirm."})
        two = _orders(account)["SK-2"]
        account.sandbox.state.update("portouts", two["id"], {"phone_numbers": [VIP, OTHER]})
        with pytest.raises(ApplyError) as stopped:
            pipeline.apply_plan(client, shown)
    failed = {change.key: words for change, words in stopped.value.failed}
    assert set(failed) == {"SK-1", "SK-2"}
    assert "it is now 'authorized', not pending" in failed["SK-1"]
    assert "it changed since the plan: phone_numbers" in failed["SK-2"]
    assert _statuses(account) == {"SK-1": "authorized", "SK-2": "pending", "SK-3": "authorized", "SK-4": "rejected-pending"}
    assert {c.key for c in stopped.value.applied} == {"SK-3", "SK-4"}


class AnsweredMeanwhile:
    """A client through which a person gives the same answer just before the tool's own call arrives."""

    def __init__(self, client: TelnyxClient, account: Account) -> None:
        self.client, self.account = client, account

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def patch(self, path: str, body: dict[str, Any], *, what: str = "") -> dict[str, Any]:
        key = next(k for k, o in _orders(self.account).items() if o["id"] in path)
        _person(self.account, key, path.rsplit("/", 1)[1], body)
        return self.client.patch(path, body, what=what)


def test_a_refusal_because_the_order_already_has_the_wanted_status_counts_as_done(config: Path) -> None:
    with served(Sandbox(api_key=API_KEY, seed=_seed(_order([VIP], 3, "SK-1"), _order([CHURNED], 4, "SK-2")))) as account, \
            client_for(account) as client:
        plan = pipeline.plan_from_account(client, pipeline.load_desired([str(config)]))
        done = pipeline.apply_plan(AnsweredMeanwhile(client, account), plan)  # type: ignore[arg-type]
        assert {c.key for c in done} == {"SK-1", "SK-2"}
        statuses = [r.status for r in account.sandbox.requests if r.method == "PATCH"]
        assert statuses == [200, 422, 200, 422]  # the person's answer, then the tool's, refused as not pending
    assert _statuses(account) == {"SK-1": "rejected-pending", "SK-2": "authorized"}


@pytest.mark.parametrize("random_seed", [1, 2, 3, 4, 5])
def test_every_rejection_goes_out_before_its_deadline_when_a_fifth_of_requests_fail(config: Path, random_seed: int) -> None:
    vips = [_order([VIP], hours, f"SK-VIP-{i}") for i, hours in enumerate((47.9, 47, 30, 10, 2, 0.5, 40, 20))]
    churned = [_order([CHURNED], hours, f"SK-CH-{i}") for i, hours in enumerate((47.95, 45, 5))]
    sandbox = Sandbox(api_key=API_KEY, seed=_seed(*vips, *churned), fail_rate=0.2, random_seed=random_seed)
    with served(sandbox) as account:
        result = account.run("apply", str(config), "--auto-approve")
        assert result.exit_code == 0, result.output
        statuses = _statuses(account)
        assert all(statuses[o["support_key"]] == "rejected-pending" for o in vips), result.output
        assert all(_orders(account)[o["support_key"]]["rejection_code"] == 1002 for o in vips)
        events = [e for e in account.sandbox.state.all("portout_events") if e["event_type"] == "portout.status_changed"]
        by_id = {o["id"]: o for o in _orders(account).values()}
        for event in events:  # each rejection was made before the order's own deadline
            order = by_id[event["portout_id"]]
            if event["_payload"]["status"] == "rejected-pending":
                assert event["created_at"] < order["_answer_by"]


def test_an_answer_without_the_rejection_code_sent_is_a_failure_in_words(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_portouts.Portouts, "_rejection", lambda self, order, fields, reason: {})
    with served(Sandbox(api_key=API_KEY, seed=_seed(_order([VIP], 3, "SK-1"), _order([CHURNED], 4, "SK-2")))) as account:
        result = account.run("apply", str(config), "--auto-approve")
        assert result.exit_code == 1
        assert "the rejection was sent with code 1002 but the answer shows rejection_code None" in result.output
        assert "Traceback" not in result.output
        assert _statuses(account)["SK-2"] == "authorized"


# --- 5. an order the rule's code does not fit waits; the rest proceeds (tests/test_portout_policy.py) ----
# --- 6. every pending order exactly once ---------------------------------------------------------------


class PersonBetweenPages:
    """A client during whose listing of pending port-outs something happens after each first page."""

    def __init__(self, client: TelnyxClient, act: Any, times: int = 1) -> None:
        self.client, self.act, self.times = client, act, times

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def get(self, path: str, params: dict[str, Any] | None = None, *, what: str = "") -> dict[str, Any]:
        answer = self.client.get(path, params, what=what)
        if path == portouts.PATH and (params or {}).get("page[number]") == 1 and self.times > 0:
            self.times -= 1
            self.act()
        return answer


def _many(count: int) -> list[dict[str, Any]]:
    return [_order([OTHER], 1 + i / 100, f"SK-{i:03d}") for i in range(count)]


@pytest.mark.parametrize("happens", ["answered", "arrived"])
def test_every_pending_order_is_read_exactly_once_while_the_list_moves(happens: str) -> None:
    with served(Sandbox(api_key=API_KEY, seed=_seed(*_many(260)))) as account, client_for(account) as client:
        def act() -> None:
            if happens == "answered":
                _person(account, "SK-000", "authorized", {"reason": "ok"})  # the newest: on the first page
            else:
                account.sandbox.add("portouts", _order([OTHER], 0.001, "SK-NEW"))

        orders, note = portouts.snapshot(PersonBetweenPages(client, act), {"status": "pending"})  # type: ignore[arg-type]
        pending = {o["support_key"] for o in account.sandbox.state.all("portouts") if o["status"] == "pending"}
    assert note is None
    assert sorted(o["support_key"] for o in orders) == sorted(pending)


def test_a_list_that_keeps_moving_is_said_so() -> None:
    with served(Sandbox(api_key=API_KEY, seed=_seed(*_many(260)))) as account, client_for(account) as client:
        arrivals = iter(range(10))

        def arrive() -> None:
            account.sandbox.add("portouts", _order([OTHER], 0.001, f"SK-NEW-{next(arrivals)}"))

        orders, note = portouts.snapshot(PersonBetweenPages(client, arrive, times=3), {"status": "pending"})  # type: ignore[arg-type]
    keys = [o["support_key"] for o in orders]
    assert len(keys) == len(set(keys))
    assert note is not None and "changed while they were read, 3 times" in note and "plan again" in note


# --- 7. authorizations are irreversible and capped ----------------------------------------------------


def test_authorizations_are_irreversible_and_capped_per_run(tmp_path: Path) -> None:
    orders = [_order([CHURNED], 2 + i, f"SK-{i:02d}") for i in range(11)]
    config = write_config(tmp_path, "policy.yaml", POLICY)
    with served(Sandbox(api_key=API_KEY, seed=_seed(*orders))) as account:
        document = json.loads(account.run("plan", str(config), "--format", "json", "--max-authorizations", "11").output)
        assert {c["irreversible"] for c in document["changes"]} == {True}
        capped = account.run("apply", str(config), "--auto-approve", "--force")
        assert capped.exit_code == 1
        assert "(update: authorize (irreversible once the numbers port): every number is allowed to leave" in capped.output
        assert "the plan authorizes 11 port-out(s), more than the 10 one run may send" in capped.output
        assert "portout_policy[SK-00]" in capped.output and "portout_policy[SK-10]" in capped.output
        assert account.writes() == []
        raised = write_config(tmp_path, "raised.yaml", POLICY.replace("  deadline_hours: 48\n", "  deadline_hours: 48\n  max_authorizations: 11\n"))
        assert account.run("plan", str(raised)).exit_code == 0
        allowed = account.run("apply", str(config), "--auto-approve", "--max-authorizations", "11")
        assert allowed.exit_code == 0, allowed.output
        assert set(_statuses(account).values()) == {"authorized"}


# --- 8. shadowed rules ---------------------------------------------------------------------------------


def test_an_authorize_rule_that_shadows_a_later_reject_rule_is_a_warning(tmp_path: Path) -> None:
    text = """\
portout_policy:
  rules:
    - name: let-rival-go
      match: {carrier_name: [Rival Mobile, Globex]}
      action: authorize
      reason: Our partner carriers.
    - name: protect-from-rival
      match: {carrier_name: [rival mobile], tags: [vip]}
      action: reject
      reason: Wrong account number.
"""
    config = write_config(tmp_path, "policy.yaml", text)
    result = Account(Sandbox(api_key=API_KEY), "http://127.0.0.1:9").run("validate", str(config))
    assert result.exit_code == 0
    assert (f"Warning: {config}:7: warning: port-out rule 'let-rival-go' (authorize) matches every number that rule "
            "'protect-from-rival' (reject) matches") in result.output


# --- 9. authorized orders the policy would have rejected ------------------------------------------------


def test_drift_lists_an_authorized_order_the_policy_would_reject_until_it_ports(config: Path) -> None:
    seed = _seed(_order([VIP], 30, "SK-LET-GO", status="authorized", foc_date=_time(24 * 3)),
                 _order([CHURNED], 30, "SK-FINE", status="authorized", foc_date=_time(24 * 3)))
    with served(Sandbox(api_key=API_KEY, seed=seed)) as account:
        result = account.run("drift", str(config))
        assert result.exit_code == 2
        assert "portout_policy[SK-LET-GO]" in result.output and "SK-FINE" not in result.output
        foc = _orders(account)["SK-LET-GO"]["foc_date"][:16]
        assert f"authorized although the policy would reject it (rule 'protect-vip' protects {VIP}); it ports on {foc}" in result.output
        assert "call the gaining carrier" in result.output


# --- 10. deadlines ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("deadline_line", "left"), [("", "3h 5"), ("  deadline_hours: 48\n", "27h 5")])
def test_time_left_counts_from_24_hours_unless_the_window_is_known_to_be_48(tmp_path: Path, deadline_line: str, left: str) -> None:
    config = write_config(tmp_path, "policy.yaml", "portout_policy:\n" + deadline_line + "  rules: []\n")
    with served(Sandbox(api_key=API_KEY, seed=_seed(_order([OTHER], 20.02, "SK-X")))) as account:
        result = account.run("drift", str(config))
    assert f"{left}" in result.output and "left before it is authorized automatically" in result.output


@pytest.mark.parametrize(("hours", "status"), [(24, "authorized"), (48, "pending")])
def test_the_sandbox_can_be_given_either_window(hours: float, status: str) -> None:
    sandbox = Sandbox(api_key=API_KEY, seed=_seed(_order([OTHER], 25, "SK-X")), portout_answer_hours=hours)
    sandbox.advance()
    assert [o["status"] for o in sandbox.state.all("portouts")] == [status]


# --- 11. reviewers see what they approve -----------------------------------------------------------------


def test_plans_show_the_orders_facts_and_a_saved_plan_is_refused_when_an_order_gained_a_number(config: Path, tmp_path: Path) -> None:
    seed = _seed(_order([CHURNED], 3, "SK-1", end_user_name="Ada Customer", pon="PON-77"))
    with served(Sandbox(api_key=API_KEY, seed=seed)) as account:
        text = account.run("plan", str(config)).output
        assert f"requested FOC {_orders(account)['SK-1']['requested_foc_date'][:16]}" in text and "end user Ada Customer" in text and "PON PON-77" in text
        document = json.loads(account.run("plan", str(config), "--format", "json").output)
        [change] = document["changes"]
        assert (change["before"]["phone_numbers"], change["before"]["carrier_name"], change["before"]["spid"]) == (
            [CHURNED], "Rival Mobile", "123A")
        planfile = tmp_path / "reviewed.tfplan"
        assert account.run("plan", str(config), "--out", str(planfile)).exit_code == 0
        order = _orders(account)["SK-1"]
        account.sandbox.state.update("portouts", order["id"], {"phone_numbers": [CHURNED, VIP.replace("101", "102")]})
        refused = account.run("apply", str(planfile))
        assert refused.exit_code == 1 and "the saved plan no longer matches" in refused.output
        assert _statuses(account) == {"SK-1": "pending"}


# --- 12. lawful examples ------------------------------------------------------------------------------------


def test_the_examples_reject_only_for_reasons_porting_rules_allow() -> None:
    root = Path(__file__).resolve().parent.parent
    texts = [(root / "examples" / "config" / "portouts.yaml").read_text(), (root / "README.md").read_text()]
    for text in texts:
        assert "contract" not in text.split("portout_policy:", 1)[1].split("```", 1)[0].lower()
    assert "Reject only for reasons the applicable porting rules allow" in texts[1]
