"""Port-out orders as a losing carrier's account sees them: seeded orders, their filters, authorizing
and rejecting, comments, documents, rejection codes, events and reports, on an injected clock.

The clock starts at 2024-05-01T12:00Z. Each response is checked against the spec as it arrives, events
included: `PortoutEvent`'s discriminator picks the schema each event is held to."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from sandbox_support import (BASE, KEY, Clock, ContractViolation, check_against_spec, client_for, codes, errors_of,
                             pointers)

from reconciler.sandbox import Sandbox, SeedError
from reconciler.sandbox.spec import validate_response

PENDING = "5b1a2c3d-0000-4000-8000-000000000001"   # answer due 2024-05-03T00:00Z
STALE = "5b1a2c3d-0000-4000-8000-000000000002"     # unanswered since 2024-04-28: authorized, then ported
AUTHORIZED = "5b1a2c3d-0000-4000-8000-000000000003"  # ports on 2024-05-04
PORTED = "5b1a2c3d-0000-4000-8000-000000000004"
NO_SUCH = "5b1a2c3d-0000-4000-8000-0000000000ff"
DOCUMENT = "f1c5e079-9d82-4f50-95bc-ae2f6b8d84d7"



def portout_seed() -> dict[str, Any]:
    return {"portouts": [
        {"id": PENDING, "phone_numbers": ["+13125550004", "+13125550006"], "carrier_name": "Acme Wireless",
         "spid": "987H", "support_key": "PO_100001", "pon": "PON-1", "end_user_name": "Toy-O'Kon",
         "created_at": "2024-05-01T00:00:00Z", "requested_foc_date": "2024-05-08", "customer_reference": "acct-1",
         "rejection_codes": [{"code": 1002, "description": "Invalid PIN", "reason_required": False},
                             {"code": 1099, "description": "Other", "reason_required": True}],
         "comments": [{"body": "Customer confirmed by phone", "created_at": "2024-05-01T01:00:00Z"}],
         "supporting_documents": [{"type": "loa", "document_id": DOCUMENT, "created_at": "2024-05-01T02:00:00Z"}]},
        {"id": STALE, "phone_numbers": ["+13125550007"], "carrier_name": "Globex", "spid": "222B",
         "created_at": "2024-04-28T00:00:00Z", "requested_foc_date": "2024-05-01T06:00:00Z"},
        {"id": AUTHORIZED, "status": "authorized", "phone_numbers": ["+14165550100"], "carrier_name": "Bell",
         "spid": "111A", "country_code": "CA", "created_at": "2024-04-30T00:00:00Z",
         "foc_date": "2024-05-04T00:00:00Z"},
        {"id": PORTED, "status": "ported", "phone_numbers": ["+13125550009"], "carrier_name": "Acme Wireless",
         "spid": "987H", "created_at": "2024-04-01T00:00:00Z", "foc_date": "2024-04-15T00:00:00Z",
         "ported_out_at": "2024-04-15T00:00:00Z"},
    ]}


@pytest.fixture
def porting(clock: Clock) -> Sandbox:
    return Sandbox(clock=clock, seed=portout_seed())


@pytest.fixture
def api(porting: Sandbox) -> Iterator[httpx.Client]:
    with client_for(porting) as client:
        yield client


def data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def ids(api: httpx.Client, **params: str) -> list[str]:
    return [o["id"] for o in data(api.get("/portouts", params=params))]


def events(api: httpx.Client, **params: str) -> list[dict[str, Any]]:
    return list(data(api.get("/portouts/events", params=params)))


# -- orders --------------------------------------------------------------------------------

def test_a_seeded_order_reads_like_the_api(api: httpx.Client) -> None:
    order = data(api.get(f"/portouts/{PENDING}"))
    assert order["record_type"] == "portout" and order["status"] == "pending" and order["reason"] is None
    assert order["created_at"] == order["inserted_at"] == "2024-05-01T00:00:00.000Z"
    assert order["requested_foc_date"] == "2024-05-08T00:00:00.000Z" and "foc_date" not in order
    assert order["current_carrier"] == "telnyx" and order["host_messaging"] is False and order["user_id"]
    assert not any(key.startswith("_") or key == "customer_reference" for key in order)
    assert data(api.get(f"/portouts/{STALE}"))["support_key"].startswith("PO_")
    missing = api.get(f"/portouts/{NO_SUCH}")
    assert missing.status_code == 404 and codes(missing) == ["10005"]
    assert api.get("/portouts/not-a-uuid").status_code == 404


def test_the_list_filters_newest_first(api: httpx.Client) -> None:
    assert ids(api) == [PENDING, AUTHORIZED, STALE, PORTED]
    assert ids(api, **{"filter[status]": "pending"}) == [PENDING]
    assert ids(api, **{"filter[status_in]": "authorized,ported"}) == [AUTHORIZED, STALE, PORTED]
    assert ids(api, **{"filter[carrier_name]": "acme wireless"}) == [PENDING, PORTED]
    assert ids(api, **{"filter[spid]": "111A"}) == [AUTHORIZED]
    assert ids(api, **{"filter[support_key]": "PO_100001"}) == [PENDING]
    assert ids(api, **{"filter[pon]": "PON-1"}) == [PENDING]
    assert ids(api, **{"filter[phone_number]": "+13125550006"}) == [PENDING]
    assert ids(api, **{"filter[country_code]": "ca"}) == [AUTHORIZED]
    assert ids(api, **{"filter[country_code_in]": "CA,US"}) == [PENDING, AUTHORIZED, STALE, PORTED]
    assert ids(api, **{"filter[foc_date]": "2024-05-04T09:30:00Z"}) == [AUTHORIZED]
    assert ids(api, **{"filter[inserted_at][gte]": "2024-04-29T00:00:00Z",
                       "filter[inserted_at][lte]": "2024-04-30T00:00:00Z"}) == [AUTHORIZED]
    assert ids(api, **{"filter[ported_out_at][lte]": "2024-04-20T00:00:00Z"}) == [PORTED]
    assert ids(api, **{"page[size]": "1", "page[number]": "2"}) == [AUTHORIZED]


@pytest.mark.parametrize("params", [{"filter[status]": "done"}, {"filter[colour]": "red"},
                                    {"filter[foc_date]": "tomorrow"}, {"page[size]": "251"}])
def test_filters_the_spec_does_not_declare_are_refused(api: httpx.Client, params: dict[str, str]) -> None:
    response = api.get("/portouts", params=params)
    assert response.status_code == 422 and codes(response) == ["10015"]
    assert errors_of(response)[0]["source"]["parameter"] == next(iter(params))


# -- status changes ------------------------------------------------------------------------

def test_authorizing_a_pending_order(api: httpx.Client, clock: Clock) -> None:
    clock.advance(60)
    order = data(api.patch(f"/portouts/{PENDING}/authorized", json={"reason": "Verified", "host_messaging": True}))
    assert order["status"] == "authorized" and order["reason"] == "Verified" and order["host_messaging"] is True
    assert order["updated_at"] == "2024-05-01T12:01:00.000Z"
    assert order["foc_date"] == order["requested_foc_date"]  # the FOC date is confirmed
    kinds = {e["event_type"] for e in events(api, **{"filter[portout_id]": PENDING})}
    assert kinds == {"portout.status_changed", "portout.foc_date_changed"}

    again = api.patch(f"/portouts/{PENDING}/authorized", json={"reason": "again"})
    assert again.status_code == 422 and codes(again) == ["10015"]
    assert "only a pending port-out can be authorized" in errors_of(again)[0]["detail"]
    assert api.patch(f"/portouts/{PENDING}/rejected-pending", json={"reason": "no"}).status_code == 422


def test_rejecting_needs_a_reason_and_porting_ops_review(api: httpx.Client, clock: Clock) -> None:
    path = f"/portouts/{PENDING}/rejected-pending"
    no_reason = api.patch(path, json={})
    assert no_reason.status_code == 422 and codes(no_reason) == ["10004"] and pointers(no_reason) == ["/reason"]
    blank = api.patch(path, json={"reason": " "})
    assert blank.status_code == 422 and pointers(blank) == ["/reason"]
    wrong_code = api.patch(path, json={"reason": "x", "rejection_code": 1004})
    assert wrong_code.status_code == 422 and pointers(wrong_code) == ["/rejection_code"]
    needs_reason = api.patch(path, json={"reason": "", "rejection_code": 1099})
    assert needs_reason.status_code == 422 and pointers(needs_reason) == ["/reason"]
    bad_status = api.patch(f"/portouts/{PENDING}/ported", json={"reason": "x"})
    assert bad_status.status_code == 404

    order = data(api.patch(path, json={"reason": "", "rejection_code": 1002}))
    assert order["status"] == "rejected-pending" and order["rejection_code"] == 1002 and order["reason"] is None
    clock.advance(24 * 3600)
    reviewed = data(api.get(f"/portouts/{PENDING}"))
    assert reviewed["status"] == "rejected" and reviewed["updated_at"] == "2024-05-02T12:00:00.000Z"
    clock.advance(1)
    statuses = [e["payload"]["status"] for e in events(api, **{"filter[event_type]": "portout.status_changed",
                                                                     "filter[portout_id]": PENDING})]
    assert statuses == ["rejected", "rejected-pending"]


def test_an_unanswered_order_is_authorized_at_its_deadline_and_ports_on_its_foc_date(
        api: httpx.Client, clock: Clock) -> None:
    stale = data(api.get(f"/portouts/{STALE}"))  # 48 h passed on 2024-04-30, the FOC date on 2024-05-01 06:00
    assert stale["status"] == "ported" and stale["foc_date"] == "2024-05-01T06:00:00.000Z"
    assert ids(api, **{"filter[ported_out_at][gte]": "2024-05-01T06:00:00Z"}) == [STALE]
    history = events(api, **{"filter[portout_id]": STALE, "filter[event_type]": "portout.status_changed"})
    assert [(e["payload"]["status"], e["created_at"]) for e in history] == [
        ("ported", "2024-05-01T06:00:00.000Z"), ("authorized", "2024-04-30T00:00:00.000Z")]

    clock.advance(35 * 3600)
    assert data(api.get(f"/portouts/{PENDING}"))["status"] == "pending"
    clock.advance(1 * 3600)
    authorized = data(api.get(f"/portouts/{PENDING}"))
    assert authorized["status"] == "authorized" and authorized["updated_at"] == "2024-05-03T00:00:00.000Z"
    assert data(api.get(f"/portouts/{AUTHORIZED}"))["status"] == "authorized"
    clock.advance(24 * 3600)
    assert data(api.get(f"/portouts/{AUTHORIZED}"))["status"] == "ported"


# -- the numbers an order holds --------------------------------------------------------------

HELD, ALSO_HELD, GONE, CANADIAN, KEPT = ("1000000000000000011", "1000000000000000012", "1000000000000000013",
                                         "1000000000000000014", "1000000000000000015")


def numbered_seed() -> dict[str, Any]:
    """The orders, the account's own copies of their numbers, and a number no order asks for."""
    numbers = {HELD: "+13125550004", ALSO_HELD: "+13125550006", GONE: "+13125550007", CANADIAN: "+14165550100",
               KEPT: "+13125550001"}
    return {"phone_numbers": [{"id": ident, "phone_number": number, "created_at": "2024-01-01T00:00:00Z"}
                              for ident, number in numbers.items()], **portout_seed()}


def number_status(api: httpx.Client, ident: str) -> str:
    return str(data(api.get(f"/phone_numbers/{ident}"))["status"])


def test_numbers_are_port_out_pending_while_an_order_is_open_and_leave_when_it_ports(clock: Clock) -> None:
    with client_for(Sandbox(clock=clock, seed=numbered_seed())) as api:
        assert {ident: number_status(api, ident) for ident in (HELD, ALSO_HELD, CANADIAN, KEPT)} == {
            HELD: "port-out-pending", ALSO_HELD: "port-out-pending", CANADIAN: "port-out-pending", KEPT: "active"}
        gone = data(api.get(f"/phone_numbers/{GONE}"))  # its order ported at its FOC date, before the first request
        assert gone["status"] == "ported-out" and gone["updated_at"] == "2024-05-01T06:00:00.000Z"
        refused = api.patch(f"/phone_numbers/{HELD}", json={"tags": ["x"]})
        assert refused.status_code == 422 and "port-out-pending" in errors_of(refused)[0]["detail"]
        assert api.patch(f"/phone_numbers/{KEPT}", json={"tags": ["x"]}).status_code == 200

        data(api.patch(f"/portouts/{PENDING}/authorized", json={"reason": "Verified"}))
        assert number_status(api, HELD) == "port-out-pending"
        clock.advance(2.5 * 24 * 3600)  # past the CA order's FOC date, 2024-05-04
        assert number_status(api, CANADIAN) == "ported-out" and number_status(api, HELD) == "port-out-pending"
        clock.advance(4 * 24 * 3600)  # past the confirmed FOC date, 2024-05-08
        assert number_status(api, HELD) == number_status(api, ALSO_HELD) == "ported-out"
        ported = [n["phone_number"] for n in data(api.get("/phone_numbers", params={"filter[status]": "ported-out"}))]
        assert sorted(ported) == ["+13125550004", "+13125550006", "+13125550007", "+14165550100"]


def test_a_rejected_order_gives_back_the_numbers_no_other_order_holds(clock: Clock) -> None:
    seed = numbered_seed()
    seed["portouts"].append({"phone_numbers": ["+13125550006"], "carrier_name": "Globex", "spid": "222B",
                             "created_at": "2024-05-01T06:00:00Z"})
    with client_for(Sandbox(clock=clock, seed=seed)) as api:
        data(api.patch(f"/portouts/{PENDING}/rejected-pending", json={"reason": "", "rejection_code": 1002}))
        assert number_status(api, HELD) == "port-out-pending"  # Porting Ops may still let it go
        clock.advance(24 * 3600)
        assert data(api.get(f"/portouts/{PENDING}"))["status"] == "rejected"
        assert number_status(api, HELD) == "active" and number_status(api, ALSO_HELD) == "port-out-pending"
        assert api.patch(f"/phone_numbers/{HELD}", json={"tags": ["kept"]}).status_code == 200


# -- comments, documents, rejection codes --------------------------------------------------

def test_comments(api: httpx.Client, porting: Sandbox) -> None:
    listed = api.get(f"/portouts/{PENDING}/comments").json()
    assert [c["body"] for c in listed["data"]] == ["Customer confirmed by phone"]
    assert listed["meta"]["total_results"] == 1
    comment = data(api.post(f"/portouts/{PENDING}/comments", json={"body": "Please hold"}), 201)
    assert comment["portout_id"] == PENDING and comment["user_id"] == porting.state.user_id
    assert [c["id"] for c in data(api.get(f"/portouts/{PENDING}/comments"))][-1] == comment["id"]
    [event] = events(api, **{"filter[event_type]": "portout.new_comment"})
    assert event["portout_id"] == PENDING and event["payload_status"] == "created" and "payload" not in event

    empty = api.post(f"/portouts/{PENDING}/comments", json={})
    assert empty.status_code == 422 and pointers(empty) == ["/body"]
    assert api.get(f"/portouts/{NO_SUCH}/comments").status_code == 404


def test_supporting_documents(api: httpx.Client) -> None:
    [seeded] = data(api.get(f"/portouts/{PENDING}/supporting_documents"), 201)  # the spec declares 201
    assert seeded["document_id"] == DOCUMENT and seeded["type"] == "loa"
    added = data(api.post(f"/portouts/{PENDING}/supporting_documents",
                          json={"documents": [{"type": "invoice", "document_id": NO_SUCH}]}), 201)
    assert [(d["type"], d["portout_id"]) for d in added] == [("invoice", PENDING)]
    assert len(data(api.get(f"/portouts/{PENDING}/supporting_documents"), 201)) == 2
    for body in ({"documents": [{"type": "passport", "document_id": NO_SUCH}]}, {"documents": []}, {}):
        assert api.post(f"/portouts/{PENDING}/supporting_documents", json=body).status_code == 422


def test_rejection_codes(api: httpx.Client) -> None:
    def codes_of(portout: str, **params: str) -> list[tuple[int, bool]]:
        found = data(api.get(f"/portouts/rejections/{portout}", params=params))
        return [(r["code"], r["reason_required"]) for r in found]

    assert codes_of(PENDING) == [(1002, False), (1099, True)]
    assert codes_of(PENDING, **{"filter[code]": "1099"}) == [(1099, True)]
    assert codes_of(PENDING, **{"filter[code]": "1002,1099"}) == [(1002, False), (1099, True)]
    assert (1099, True) in codes_of(AUTHORIZED) and len(codes_of(AUTHORIZED)) == 5  # the default list
    assert api.get(f"/portouts/rejections/{NO_SUCH}").status_code == 404
    assert api.get(f"/portouts/rejections/{PENDING}", params={"filter[code]": "pin"}).status_code == 422


# -- events --------------------------------------------------------------------------------

def test_events_complete_on_the_clock_and_republishing_adds_none(api: httpx.Client, clock: Clock) -> None:
    data(api.post(f"/portouts/{PENDING}/comments", json={"body": "hello"}), 201)
    [event] = events(api, **{"filter[event_type]": "portout.new_comment"})
    assert event["payload_status"] == "created" and event["updated_at"] == event["created_at"]
    clock.advance(1)
    shown = data(api.get(f"/portouts/events/{event['id']}"))
    assert shown["payload_status"] == "completed" and shown["updated_at"] == "2024-05-01T12:00:01.000Z"
    assert shown["payload"]["comment"] == "hello" and shown["payload"]["portout_id"] == PENDING
    assert shown["available_notification_methods"] == ["email", "webhook"]

    total = len(events(api))
    republished = api.post(f"/portouts/events/{event['id']}/republish")
    assert republished.status_code == 204 and republished.content == b""
    assert len(events(api)) == total
    assert api.post(f"/portouts/events/{NO_SUCH}/republish").status_code == 404
    assert api.get(f"/portouts/events/{NO_SUCH}").status_code == 404
    assert events(api, **{"filter[created_at][gte]": "2024-05-01T11:00:00Z"}) == events(api, **{
        "filter[portout_id]": PENDING})
    assert api.get("/portouts/events", params={"filter[event_type]": "portout.deleted"}).status_code == 422


def test_an_event_is_held_to_the_schema_its_event_type_names(api: httpx.Client, porting: Sandbox,
                                                             clock: Clock) -> None:
    data(api.patch(f"/portouts/{PENDING}/authorized", json={"reason": "Verified"}))
    clock.advance(1)
    [event] = events(api, **{"filter[event_type]": "portout.status_changed", "filter[portout_id]": PENDING})
    path = f"/v2/portouts/events/{event['id']}"
    assert validate_response("GET", path, 200, {"data": event}) == []

    wrong_status = {**event, "payload": {**event["payload"], "status": "gone"}}
    [problem] = validate_response("GET", path, 200, {"data": wrong_status})
    assert "at /data/payload/status" in problem and "'gone' is not one of" in problem
    # The same payload is fine for a comment event, which declares no payload status: the
    # discriminator, not a guess among the branches, decides.
    assert validate_response("GET", path, 200, {"data": {**wrong_status, "event_type": "portout.new_comment"}}) == []
    [unknown] = validate_response("GET", path, 200, {"data": {**event, "event_type": "portout.deleted"}})
    assert "'portout.deleted' is not a known 'event_type'" in unknown

    stored = porting.state.get("portout_events", event["id"])
    assert stored is not None
    porting.state.replace("portout_events", event["id"], {**stored, "_payload": {**stored["_payload"], "id": 7}})
    with pytest.raises(ContractViolation, match="7 is not of type 'string'"):
        api.get(f"/portouts/events/{event['id']}")


# -- reports -------------------------------------------------------------------------------

def test_a_report_completes_with_a_document(api: httpx.Client, clock: Clock, porting: Sandbox) -> None:
    body = {"report_type": "export_portouts_csv",
            "params": {"filters": {"status__in": ["pending", "ported"], "phone_numbers__overlaps": ["+13125550006"]}}}
    report = data(api.post("/portouts/reports", json=body), 201)
    assert report["status"] == "pending" and "document_id" not in report and report["params"] == body["params"]
    assert [r["id"] for r in data(api.get("/portouts/reports", params={"filter[status]": "pending"}))] == [report["id"]]
    clock.advance(1)
    done = data(api.get(f"/portouts/reports/{report['id']}"))
    assert done["status"] == "completed" and done["document_id"] and done["updated_at"] == "2024-05-01T12:00:01.000Z"
    assert porting.state.get("portout_reports", report["id"])["_portout_ids"] == [PENDING]  # type: ignore[index]
    assert data(api.get("/portouts/reports", params={"filter[status]": "pending"})) == []

    for bad in ({"report_type": "export_portouts_csv"}, {"report_type": "pdf", "params": {"filters": {}}},
                {"report_type": "export_portouts_csv", "params": {"filters": {"status__in": ["gone"]}}},
                {"report_type": "export_portouts_csv", "params": {"filters": {"colour": "red"}}}):
        assert api.post("/portouts/reports", json=bad).status_code == 422
    assert api.get(f"/portouts/reports/{NO_SUCH}").status_code == 404


# -- seeds and persistence -----------------------------------------------------------------

def test_orders_comments_and_events_survive_a_restart(tmp_path: Path, clock: Clock) -> None:
    state = tmp_path / "state.json"
    with Sandbox(clock=clock, state_path=state, seed=portout_seed()) as first:
        with httpx.Client(transport=first.transport(), base_url=BASE,
                          headers={"Authorization": f"Bearer {KEY}"}) as client:
            client.patch(f"/portouts/{PENDING}/authorized", json={"reason": "ok"})
            client.post(f"/portouts/{PENDING}/comments", json={"body": "done"})
    restored = Sandbox(clock=clock, state_path=state)
    order = restored.state.get("portouts", PENDING)
    assert order is not None and order["status"] == "authorized" and len(order["_comments"]) == 2
    assert len([e for e in restored.state.all("portout_events") if e["portout_id"] == PENDING]) == 3


@pytest.mark.parametrize(("entry", "message"), [
    ({"phone_numbers": ["3125550004"]}, "E.164"),
    ({"phone_numbers": ["+13125550004"], "colour": "red"}, "colour"),
    ({"phone_numbers": ["+13125550004"], "status": "lost"}, "status"),
    ({"phone_numbers": ["+13125550004"], "foc_date": "soon"}, "ISO 8601"),
    ({"phone_numbers": ["+13125550004"], "comments": [{"user_id": "x"}]}, "body"),
])
def test_seeds_that_are_not_orders_are_refused(clock: Clock, entry: dict[str, Any], message: str) -> None:
    with pytest.raises(SeedError, match=message):
        Sandbox(clock=clock, seed={"portouts": [entry]})
    with pytest.raises(SeedError, match="cannot be seeded"):
        Sandbox(clock=clock, seed={"portout_events": [{"id": NO_SUCH}]})
