"""Background jobs on an injected clock: phone-number jobs and messaging bulk updates.

The `account` fixture times a job at 10 s plus 1 s per number: pending for the first 5 s, then
in progress until `etc`, when its effects are applied all at once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sandbox_support import (
    E911, GROUP_ID, HQ_ID, LAB_ID, LOCKED, NUMBERS, PORTING, PROFILE_ID, SALES, TOLL_FREE, Clock, account_seed,
    client_for, codes, errors_of, pointers,
)

from reconciler.sandbox import Sandbox, generate_account

UPDATE = "/phone_numbers/jobs/update_phone_numbers"
EMERGENCY = "/phone_numbers/jobs/update_emergency_settings"
DELETE = "/phone_numbers/jobs/delete_phone_numbers"
OTHER_PROFILE = "dd50eba1-a0c0-4563-9925-b25e842a7cb6"


def start(api: httpx.Client, path: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
    response = api.post(path, json=body, params=params)
    assert response.status_code == 202, response.text
    return dict(response.json()["data"])


def job(api: httpx.Client, ident: str) -> dict[str, Any]:
    response = api.get(f"/phone_numbers/jobs/{ident}")
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def number(api: httpx.Client, ident: str) -> dict[str, Any]:
    return dict(api.get(f"/phone_numbers/{ident}").json()["data"])


def test_an_update_job_moves_pending_in_progress_completed_and_applies_only_at_the_end(
        numbers_api: httpx.Client, clock: Clock) -> None:
    created = start(numbers_api, UPDATE, {"phone_numbers": [NUMBERS[SALES], NUMBERS[E911]], "tags": ["moved"],
                                          "deletion_lock_enabled": True, "voice": {"usage_payment_method": "channel"}})
    assert created["status"] == "pending" and created["type"] == "update_phone_numbers"
    assert created["created_at"] == "2024-05-01T12:00:00.000Z"
    assert created["etc"] == "2024-05-01T12:00:12.000Z"  # 10 s + 1 s per number
    assert created["phone_numbers"] == [{"phone_number": NUMBERS[SALES]}, {"phone_number": NUMBERS[E911]}]
    assert created["pending_operations"] == [{"id": SALES, "phone_number": NUMBERS[SALES]},
                                             {"id": E911, "phone_number": NUMBERS[E911]}]
    assert created["successful_operations"] == [] and created["failed_operations"] == []

    clock.advance(6)
    running = job(numbers_api, created["id"])
    assert running["status"] == "in_progress" and running["updated_at"] == "2024-05-01T12:00:05.000Z"
    assert number(numbers_api, SALES)["tags"] == ["sales"]  # nothing applied yet

    clock.advance(5.999)
    assert job(numbers_api, created["id"])["status"] == "in_progress"
    clock.advance(0.001)
    done = job(numbers_api, created["id"])
    assert done["status"] == "completed" and done["updated_at"] == done["etc"]
    assert done["pending_operations"] == [] and done["failed_operations"] == []
    assert done["successful_operations"] == created["pending_operations"]
    for ident in (SALES, E911):
        after = number(numbers_api, ident)
        assert after["tags"] == ["moved"] and after["deletion_lock_enabled"] is True
        assert after["updated_at"] == "2024-05-01T12:00:12.000Z"
    assert numbers_api.get(f"/phone_numbers/{SALES}/voice").json()["data"]["usage_payment_method"] == "channel"


def test_numbers_that_are_not_active_fail_with_their_own_errors(numbers_api: httpx.Client, clock: Clock) -> None:
    mixed = start(numbers_api, UPDATE, {"phone_numbers": [SALES, PORTING], "customer_reference": "batch-7"})
    only_bad = start(numbers_api, UPDATE, {"phone_numbers": [PORTING], "hd_voice_enabled": True})
    clock.advance(60)
    done = job(numbers_api, mixed["id"])
    assert done["status"] == "completed"
    assert done["successful_operations"] == [{"id": SALES, "phone_number": NUMBERS[SALES]}]
    [failure] = done["failed_operations"]
    assert (failure["id"], failure["phone_number"]) == (PORTING, NUMBERS[PORTING])
    [error] = failure["errors"]
    assert error["code"] == "10015" and error["title"] == "Bad Request"
    assert "port-out-pending" in error["detail"] and error["source"] == {"pointer": "/phone_numbers/1"}
    assert job(numbers_api, only_bad["id"])["status"] == "failed"
    assert number(numbers_api, SALES)["customer_reference"] == "batch-7"
    assert number(numbers_api, PORTING)["customer_reference"] is None


def test_a_delete_job_is_refused_for_deletion_locked_numbers(numbers_api: httpx.Client, clock: Clock) -> None:
    created = start(numbers_api, DELETE, {"phone_numbers": [LOCKED, TOLL_FREE]})
    assert created["type"] == "delete_phone_numbers"
    clock.advance(11)
    assert numbers_api.get(f"/phone_numbers/{TOLL_FREE}").status_code == 200  # not before etc
    clock.advance(1)
    done = job(numbers_api, created["id"])
    assert done["successful_operations"] == [{"id": TOLL_FREE, "phone_number": NUMBERS[TOLL_FREE]}]
    assert [f["id"] for f in done["failed_operations"]] == [LOCKED]
    assert "deletion_lock_enabled" in done["failed_operations"][0]["errors"][0]["detail"]
    assert numbers_api.get(f"/phone_numbers/{TOLL_FREE}").status_code == 404
    assert numbers_api.get(f"/phone_numbers/{LOCKED}").status_code == 200


def test_a_number_gone_before_the_job_runs_fails_as_not_found(numbers_api: httpx.Client, account: Sandbox,
                                                              clock: Clock) -> None:
    created = start(numbers_api, UPDATE, {"phone_numbers": [SALES, E911], "tags": ["x"]})
    account.state.delete("phone_numbers", SALES)  # released in the portal meanwhile
    clock.advance(60)
    done = job(numbers_api, created["id"])
    assert [f["errors"][0]["code"] for f in done["failed_operations"]] == ["10005"]
    assert [s["id"] for s in done["successful_operations"]] == [E911]


def test_jobs_finish_in_the_order_of_their_etc(numbers_api: httpx.Client, clock: Clock) -> None:
    update = start(numbers_api, UPDATE, {"phone_numbers": [SALES], "tags": ["last"]})
    clock.advance(1)
    delete = start(numbers_api, DELETE, {"phone_numbers": [SALES]})
    clock.advance(60)  # both are due on the same request
    assert job(numbers_api, update["id"])["status"] == "completed"
    assert job(numbers_api, delete["id"])["successful_operations"] == [{"id": SALES, "phone_number": NUMBERS[SALES]}]


def test_an_emergency_job_sets_the_address_and_makes_it_in_use(numbers_api: httpx.Client, clock: Clock) -> None:
    created = start(numbers_api, EMERGENCY, {"phone_numbers": [SALES, E911], "emergency_enabled": True,
                                             "emergency_address_id": LAB_ID})
    assert created["type"] == "update_emergency_settings"
    # A pending job does not hold the address: deleted meanwhile, so the job will find it gone.
    assert numbers_api.delete(f"/addresses/{LAB_ID}").status_code == 200
    clock.advance(60)
    done = job(numbers_api, created["id"])
    assert done["status"] == "failed"  # the address was deleted before the job ran
    assert {f["errors"][0]["code"] for f in done["failed_operations"]} == {"10017"}
    assert {f["errors"][0]["source"]["pointer"] for f in done["failed_operations"]} == {"/emergency_address_id"}
    assert number(numbers_api, E911)["emergency_address_id"] == HQ_ID

    again = start(numbers_api, EMERGENCY, {"phone_numbers": [SALES, E911], "emergency_enabled": True,
                                           "emergency_address_id": HQ_ID})
    clock.advance(60)
    assert job(numbers_api, again["id"])["status"] == "completed"
    for ident in (SALES, E911):
        settings = numbers_api.get(f"/phone_numbers/{ident}/voice").json()["data"]["emergency"]
        assert settings == {"emergency_enabled": True, "emergency_status": "active", "emergency_address_id": HQ_ID}
        assert number(numbers_api, ident)["emergency_status"] == "active"
    assert codes(numbers_api.delete(f"/addresses/{HQ_ID}")) == ["10021"]

    off = start(numbers_api, EMERGENCY, {"phone_numbers": [SALES, E911], "emergency_enabled": False})
    clock.advance(60)
    assert job(numbers_api, off["id"])["status"] == "completed"
    assert number(numbers_api, SALES)["emergency_address_id"] is None
    assert numbers_api.delete(f"/addresses/{HQ_ID}").status_code == 200


@pytest.mark.parametrize(("path", "body", "params", "status", "code", "pointer"), [
    (UPDATE, {"phone_numbers": [SALES]}, {}, 422, "10015", "/updateable_fields"),
    (UPDATE, {"phone_numbers": [SALES], "voice": {}}, {}, 422, "10015", "/updateable_fields"),
    (UPDATE, {"phone_numbers": [], "tags": ["x"]}, {}, 422, "10015", "/phone_numbers"),
    (UPDATE, {"phone_numbers": [SALES, NUMBERS[E911]], "tags": ["x"]}, {}, 422, "10015", "/phone_numbers"),
    (UPDATE, {"phone_numbers": [SALES, "555-0001"], "tags": ["x"]}, {}, 422, "10016", "/phone_numbers/1"),
    (UPDATE, {"phone_numbers": ["+19995550000"], "tags": ["x"]}, {}, 422, "10015", "/phone_numbers"),
    (UPDATE, {"phone_numbers": [SALES], "billing_group_id": LAB_ID}, {}, 403, "10010", "/billing_group_id"),
    (UPDATE, {"phone_numbers": [SALES], "voice": {"call_forwarding": {"forwards_to": "12"}}}, {}, 422, "10016",
     "/voice/call_forwarding/forwards_to"),
    (UPDATE, {"tags": ["x"]}, {}, 422, "10004", "/phone_numbers"),
    (UPDATE, {"phone_numbers": [], "tags": ["x"]}, {"filter[tag]": "nobody"}, 422, "10015", "/phone_numbers"),
    (EMERGENCY, {"phone_numbers": [SALES], "emergency_enabled": True}, {}, 422, "10004", "/emergency_address_id"),
    (EMERGENCY, {"phone_numbers": [SALES], "emergency_enabled": False, "emergency_address_id": HQ_ID}, {}, 422,
     "10015", "/emergency_address_id"),
    (EMERGENCY, {"phone_numbers": [SALES]}, {}, 422, "10004", "/emergency_enabled"),
    (DELETE, {"phone_numbers": []}, {}, 422, "10015", "/phone_numbers"),
    (DELETE, {"phone_numbers": "1000000000000000001"}, {}, 422, "10015", "/phone_numbers"),
])
def test_job_requests_refused_as_a_whole(numbers_api: httpx.Client, path: str, body: dict[str, Any],
                                         params: dict[str, str], status: int, code: str, pointer: str) -> None:
    response = numbers_api.post(path, json=body, params=params)
    assert response.status_code == status, response.text
    assert codes(response) == [code] and pointers(response) == [pointer]
    assert numbers_api.get("/phone_numbers/jobs").json()["data"] == []


def test_an_update_job_can_select_numbers_by_filter(numbers_api: httpx.Client, clock: Clock) -> None:
    created = start(numbers_api, UPDATE, {"phone_numbers": [], "billing_group_id": GROUP_ID},
                    **{"filter[tag]": "sales"})
    assert [op["id"] for op in created["pending_operations"]] == [LOCKED, SALES]
    clock.advance(60)
    assert number(numbers_api, LOCKED)["billing_group_id"] == GROUP_ID


def test_at_most_1000_numbers_per_job(clock: Clock) -> None:
    sandbox = Sandbox(clock=clock, seed=generate_account(1001), job_seconds=2, job_seconds_per_number=0.5)
    every = [n["id"] for n in sandbox.state.all("phone_numbers")]
    with client_for(sandbox) as api:
        refused = api.post(DELETE, json={"phone_numbers": every})
        assert refused.status_code == 422 and pointers(refused) == ["/phone_numbers"]
        assert errors_of(refused)[0]["detail"] == "1000 numbers is the maximum allowed."
        created = start(api, UPDATE, {"phone_numbers": every[:1000], "customer_reference": "bulk"})
        assert created["etc"] == "2024-05-01T12:08:22.000Z"  # 2 s + 1000 x 0.5 s
        assert len(created["pending_operations"]) == 1000
        clock.advance(502)
        done = job(api, created["id"])
    assert len(done["successful_operations"]) + len(done["failed_operations"]) == 1000
    assert done["failed_operations"] and all(  # the generated account has numbers that are not active
        f["errors"][0]["code"] == "10015" for f in done["failed_operations"])


def test_listing_jobs(numbers_api: httpx.Client, clock: Clock) -> None:
    made = []
    for path, body in ((UPDATE, {"phone_numbers": [SALES], "tags": ["a"]}), (DELETE, {"phone_numbers": [E911]}),
                       (UPDATE, {"phone_numbers": [TOLL_FREE], "tags": ["b"]})):
        made.append(start(numbers_api, path, body)["id"])
        clock.advance(1)
    listed = numbers_api.get("/phone_numbers/jobs").json()
    assert [j["id"] for j in listed["data"]] == made[::-1]  # newest first
    assert listed["meta"]["total_results"] == 3
    updates = numbers_api.get("/phone_numbers/jobs", params={"filter[type]": "update_phone_numbers"}).json()["data"]
    assert [j["id"] for j in updates] == [made[2], made[0]]
    ascending = numbers_api.get("/phone_numbers/jobs", params={"sort": "created_at", "page[size]": 2}).json()
    assert [j["id"] for j in ascending["data"]] == made[:2] and ascending["meta"]["total_pages"] == 2
    assert numbers_api.get("/phone_numbers/jobs", params={"sort": "-created_at"}).status_code == 422
    assert numbers_api.get("/phone_numbers/jobs", params={"filter[type]": "merge"}).status_code == 422
    missing = numbers_api.get("/phone_numbers/jobs/6a09cff1-059b-4dc1-9d4e-0e8e1f0b0c1a")
    assert missing.status_code == 404 and codes(missing) == ["10005"]


def test_at_most_20_unfinished_update_jobs(numbers_api: httpx.Client, clock: Clock) -> None:
    for _ in range(20):
        start(numbers_api, UPDATE, {"phone_numbers": [SALES], "tags": ["x"]})
    refused = numbers_api.post(UPDATE, json={"phone_numbers": [SALES], "tags": ["x"]})
    assert refused.status_code == 422 and pointers(refused) == ["/base"]
    start(numbers_api, DELETE, {"phone_numbers": [TOLL_FREE]})  # other kinds count separately
    clock.advance(3600)
    start(numbers_api, UPDATE, {"phone_numbers": [SALES], "tags": ["y"]})


def test_default_job_timing() -> None:
    clock = Clock()
    sandbox = Sandbox(clock=clock, seed=account_seed())
    with client_for(sandbox) as api:
        created = start(api, DELETE, {"phone_numbers": [SALES, E911]})
        assert created["etc"] == "2024-05-01T12:00:01.001Z"  # 1 s + 2 x 0.0005 s
        clock.advance(0.5)
        assert job(api, created["id"])["status"] == "in_progress"
        clock.advance(0.501)
        sandbox.advance()  # without a request, too
        assert sandbox.state.get("phone_numbers", SALES) is None


# -- messaging bulk updates ----------------------------------------------------------------

def test_a_messaging_bulk_update_runs_like_a_job(numbers_api: httpx.Client, clock: Clock) -> None:
    numbers = [NUMBERS[SALES], NUMBERS[TOLL_FREE], NUMBERS[PORTING], "+19995550000"]
    response = numbers_api.post("/messaging_numbers_bulk_updates",
                                json={"messaging_profile_id": OTHER_PROFILE, "numbers": numbers})
    assert response.status_code == 200
    order = response.json()["data"]
    assert order["record_type"] == "messaging_numbers_bulk_update" and order["pending"] == numbers
    assert order["success"] == [] and order["failed"] == []
    clock.advance(5)
    again = numbers_api.get(f"/messaging_numbers_bulk_updates/{order['order_id']}").json()["data"]
    assert again == order
    assert number(numbers_api, SALES)["messaging_profile_id"] == PROFILE_ID
    clock.advance(9)  # etc: 10 s + 4 x 1 s
    done = numbers_api.get(f"/messaging_numbers_bulk_updates/{order['order_id']}").json()["data"]
    assert done["pending"] == [] and done["success"] == numbers[:2] and done["failed"] == numbers[2:]
    assert number(numbers_api, SALES)["messaging_profile_id"] == OTHER_PROFILE
    assert numbers_api.get(f"/phone_numbers/{TOLL_FREE}/messaging").json()["data"][
        "messaging_profile_id"] == OTHER_PROFILE
    assert number(numbers_api, PORTING)["messaging_profile_id"] is None
    unassign = numbers_api.post("/messaging_numbers_bulk_updates",
                                json={"messaging_profile_id": "", "numbers": [NUMBERS[SALES]]}).json()["data"]
    clock.advance(60)
    assert numbers_api.get(f"/messaging_numbers_bulk_updates/{unassign['order_id']}").json()["data"]["success"]
    assert number(numbers_api, SALES)["messaging_profile_id"] is None


@pytest.mark.parametrize(("assign_only", "product"), [(None, "A2P"), (False, "A2P"), (True, "P2P")])
def test_a_profile_move_keeps_other_messaging_settings_only_with_assign_only(
        numbers_api: httpx.Client, clock: Clock, assign_only: bool | None, product: str) -> None:
    assert numbers_api.patch(f"/phone_numbers/{SALES}/messaging", json={"messaging_product": "P2P"}).status_code == 200
    body: dict[str, Any] = {"messaging_profile_id": OTHER_PROFILE, "numbers": [NUMBERS[SALES]]}
    if assign_only is not None:
        body["assign_only"] = assign_only
    order = numbers_api.post("/messaging_numbers_bulk_updates", json=body).json()["data"]
    assert "assign_only" not in order  # the response schema does not declare it
    clock.advance(60)
    settings = numbers_api.get(f"/phone_numbers/{SALES}/messaging").json()["data"]
    assert (settings["messaging_profile_id"], settings["messaging_product"]) == (OTHER_PROFILE, product)


@pytest.mark.parametrize(("body", "code", "pointer"), [
    ({"messaging_profile_id": OTHER_PROFILE, "numbers": ["3125550001"]}, "10016", "/numbers/0"),
    ({"messaging_profile_id": "profile-1", "numbers": [NUMBERS[SALES]]}, "10015", "/messaging_profile_id"),
    ({"messaging_profile_id": OTHER_PROFILE, "numbers": []}, "10015", "/numbers"),
    ({"numbers": [NUMBERS[SALES]]}, "10004", "/messaging_profile_id"),
])
def test_messaging_bulk_update_refusals(numbers_api: httpx.Client, body: dict[str, Any], code: str,
                                        pointer: str) -> None:
    response = numbers_api.post("/messaging_numbers_bulk_updates", json=body)
    assert response.status_code == 422 and codes(response) == [code] and pointers(response) == [pointer]
    assert numbers_api.get("/messaging_numbers_bulk_updates/6a09cff1-059b-4dc1-9d4e-0e8e1f0b0c1a").status_code == 404
