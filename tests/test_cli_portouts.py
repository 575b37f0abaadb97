"""`telnyx-reconciler portouts ...`, the real CLI against a sandbox served on loopback that holds a few
port-out orders: what an operator sees when another carrier asks for the account's numbers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from support import API_KEY, Account, served

from reconciler import portouts as po
from reconciler.errors import ReconcilerError
from reconciler.sandbox import Sandbox

NOW = datetime.now(timezone.utc)
WAITING = "7d0c1a2b-0000-4000-8000-000000000001"
OTHER = "7d0c1a2b-0000-4000-8000-000000000002"
AUTHORIZED = "7d0c1a2b-0000-4000-8000-000000000003"
REJECTED = "7d0c1a2b-0000-4000-8000-000000000004"
NO_SUCH = "7d0c1a2b-0000-4000-8000-0000000000ff"
DOCUMENT = "f1c5e079-9d82-4f50-95bc-ae2f6b8d84d7"


def _at(hours: float) -> str:
    return (NOW + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seed() -> dict[str, Any]:
    return {"portouts": [
        {"id": REJECTED, "status": "rejected", "phone_numbers": ["+13125550104"], "carrier_name": "Rival Mobile",
         "spid": "123A", "support_key": "SK-REJ", "created_at": _at(-300), "reason": "Under contract"},
        {"id": AUTHORIZED, "status": "authorized", "phone_numbers": ["+13125550103"], "carrier_name": "Globex",
         "spid": "555C", "support_key": "SK-AUTH", "created_at": _at(-30), "foc_date": _at(24 * 5)},
        {"id": OTHER, "phone_numbers": ["+13125550102"], "carrier_name": "Globex", "spid": "555C",
         "support_key": "SK-OTHER", "created_at": _at(-20), "requested_foc_date": _at(24 * 5)},
        {"id": WAITING, "phone_numbers": ["+13125550101", "+13125550105"], "carrier_name": "Rival Mobile",
         "spid": "123A", "support_key": "SK-WAIT", "created_at": _at(-10), "requested_foc_date": _at(24 * 5),
         "comments": [{"body": "Customer says they did not ask for this"}],
         "supporting_documents": [{"type": "loa", "document_id": DOCUMENT}]},
    ]}


@pytest.fixture
def account() -> Iterator[Account]:
    with served(Sandbox(api_key=API_KEY, seed=_seed(), job_seconds=0.2)) as the_account:
        yield the_account


def run_json(account: Account, *args: str) -> Any:
    result = account.run("portouts", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def keys(orders: list[dict[str, Any]]) -> list[str]:
    return [o["support_key"] for o in orders]


def test_list_shows_orders_newest_first_and_filters_them(account: Account) -> None:
    assert keys(run_json(account, "list")) == ["SK-WAIT", "SK-OTHER", "SK-AUTH", "SK-REJ"]
    assert keys(run_json(account, "list", "--status", "pending")) == ["SK-WAIT", "SK-OTHER"]
    assert keys(run_json(account, "list", "--status", "authorized", "--status", "rejected")) == ["SK-AUTH", "SK-REJ"]
    assert keys(run_json(account, "list", "--carrier-name", "globex", "--status", "pending")) == ["SK-OTHER"]
    assert keys(run_json(account, "list", "--spid", "123A")) == ["SK-WAIT", "SK-REJ"]
    assert keys(run_json(account, "list", "--support-key", "SK-AUTH")) == ["SK-AUTH"]
    assert keys(run_json(account, "list", "--phone-number", "+13125550105")) == ["SK-WAIT"]
    assert keys(run_json(account, "list", "--inserted-after", _at(-25))) == ["SK-WAIT", "SK-OTHER"]
    assert run_json(account, "list", "--country-code", "CA") == []

    table = account.run("portouts", "list", "--status", "pending", "--format", "text")
    assert table.exit_code == 0
    header, *rows, total = table.output.strip().splitlines()
    assert header.split()[:3] == ["id", "status", "support_key"] and total == "2 port-out order(s)"
    assert rows[0].startswith(WAITING) and "+13125550101, +13125550105" in rows[0]


def test_show_has_the_comments_and_documents(account: Account) -> None:
    shown = run_json(account, "show", WAITING)
    assert shown["portout"]["status"] == "pending" and shown["portout"]["carrier_name"] == "Rival Mobile"
    assert [c["body"] for c in shown["comments"]] == ["Customer says they did not ask for this"]
    assert [(d["type"], d["document_id"]) for d in shown["supporting_documents"]] == [("loa", DOCUMENT)]


def test_rejection_codes_say_when_a_reason_is_needed(account: Account) -> None:
    codes = run_json(account, "rejections", WAITING)
    assert {c["code"]: c["reason_required"] for c in codes}[1099] is True
    assert [c["code"] for c in run_json(account, "rejections", WAITING, "--code", "1002", "--code", "1099")] == [
        1002, 1099]


def test_events_follow_answers_and_republishing_makes_none(account: Account) -> None:
    assert run_json(account, "events") == []
    answered = account.sandbox.handle("PATCH", f"/v2/portouts/{OTHER}/authorized", [],
                                      {"Authorization": f"Bearer {API_KEY}"}, b'{"reason": "Verified"}')
    assert answered.status == 200
    listed = run_json(account, "events", "--portout-id", OTHER)
    assert {e["event_type"] for e in listed} == {"portout.status_changed", "portout.foc_date_changed"}
    status_events = run_json(account, "events", "--event-type", "portout.status_changed")
    assert [e["portout_id"] for e in status_events] == [OTHER]

    result = account.run("portouts", "republish", status_events[0]["id"])
    assert result.exit_code == 0 and json.loads(result.output) == {"republished": status_events[0]["id"]}
    assert len(run_json(account, "events")) == 2
    assert "POST /v2/portouts/events/" + status_events[0]["id"] + "/republish" in account.writes()


def test_report_waits_for_its_document(account: Account) -> None:
    report = run_json(account, "report", "--status", "pending", "--phone-number", "+13125550101")
    assert report["status"] == "completed" and report["document_id"]
    assert report["params"] == {"filters": {"status__in": ["pending"], "phone_numbers__overlaps": ["+13125550101"]}}
    stored = account.sandbox.state.get("portout_reports", report["id"])
    assert stored is not None and stored["_portout_ids"] == [WAITING]


@pytest.mark.parametrize("args", [("show", NO_SUCH), ("rejections", NO_SUCH), ("republish", NO_SUCH)])
def test_an_id_that_names_nothing_is_a_clear_error(account: Account, args: tuple[str, ...]) -> None:
    result = account.run("portouts", *args)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and args[1] in result.output and "404" in result.output
    assert "portouts list" in result.output and "Traceback" not in result.output


def test_an_id_that_is_not_one_is_refused_before_any_request(account: Account) -> None:
    result = account.run("portouts", "show", "not-an-id")
    assert result.exit_code == 1 and "'not-an-id' is not a valid UUID" in result.output
    assert account.request_count() == 0


def test_waiting_for_a_report_backs_off_and_gives_up() -> None:
    class StillPending:
        def get(self, path: str, params: Any = None, *, what: str = "") -> dict[str, Any]:
            return {"data": {"id": "r1", "status": "pending"}}

    now, slept = [0.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    with pytest.raises(ReconcilerError, match="still pending after 20 s"):
        po.wait_for_report(StillPending(), "r1", timeout=20, sleep=sleep,  # type: ignore[arg-type]
                           clock=lambda: now[0])
    assert slept == [0.5, 1.0, 2.0, 4.0, 8.0, 4.5]


def test_a_pin_a_gaining_carrier_attempted_is_never_printed(account: Account) -> None:
    account.sandbox.handle("PATCH", f"/v2/portouts/{OTHER}/authorized", [],
                           {"Authorization": f"Bearer {API_KEY}"}, b'{"reason": "Verified"}')
    for event in account.sandbox.state.all("portout_events"):
        if event["event_type"] == "portout.status_changed":
            # the real service reports the PIN the carrier gave, which may be the account's own
            account.sandbox.state.update("portout_events", event["id"], {"_payload": {**event["_payload"], "attempted_pin": "864209"}})
    time.sleep(0.3)  # the event's payload completes job_seconds (0.2 s) after the event
    result = account.run("portouts", "events", "--event-type", "portout.status_changed")
    assert result.exit_code == 0
    assert "864209" not in result.output
    [event] = json.loads(result.output)
    assert event["payload"]["attempted_pin"] == "(sensitive)"
