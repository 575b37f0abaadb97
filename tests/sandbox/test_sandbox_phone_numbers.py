"""Phone numbers, their voice, messaging and slim views, emergency settings, and mobile numbers.

The account is `account_seed()` (see sandbox_support.py). Every response is checked against the
spec's schema for its operation and status as it arrives; the tests add what the status, codes,
pointers and values must be."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sandbox_support import (
    E911, GROUP_ID, HQ_ID, LAB_ID, LOCKED, MOBILE, NUMBERS, PORTING, PROFILE_ID, SALES, TOLL_FREE, Clock, client_for,
    codes, errors_of, pointers,
)

from reconciler.sandbox import Sandbox

NEWEST_FIRST = [LOCKED, PORTING, TOLL_FREE, E911, SALES]


def ids(api: httpx.Client, path: str = "/phone_numbers", **params: Any) -> list[str]:
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["data"]]


def data(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json()["data"])


# -- lists ---------------------------------------------------------------------------------

def test_list_is_newest_first_and_shows_what_the_spec_requires(numbers_api: httpx.Client) -> None:
    body = numbers_api.get("/phone_numbers").json()
    assert [n["id"] for n in body["data"]] == NEWEST_FIRST
    assert body["meta"] == {"page_number": 1, "page_size": 20, "total_pages": 1, "total_results": 5}
    by_id = {n["id"]: n for n in body["data"]}
    assert by_id[TOLL_FREE]["phone_number_type"] == "toll_free" and by_id[SALES]["phone_number_type"] == "local"
    assert by_id[SALES]["country_iso_alpha2"] == "US" and by_id[SALES]["record_type"] == "phone_number"
    assert by_id[PORTING]["status"] == "port-out-pending" and by_id[PORTING]["activated_at"] is not None
    assert by_id[E911]["emergency_status"] == "active" and by_id[SALES]["emergency_status"] == "disabled"
    assert all("external_pin" in n and n["external_pin"] is None for n in body["data"])
    assert by_id[SALES]["purchased_at"] == by_id[SALES]["created_at"] == "2024-01-01T01:00:00.000Z"


@pytest.mark.parametrize(("params", "expected"), [
    ({"filter[tag]": "sales"}, [LOCKED, SALES]),
    ({"filter[without_tags]": "true"}, [PORTING, E911]),
    ({"filter[without_tags]": "false"}, NEWEST_FIRST),
    ({"filter[status]": "port-out-pending"}, [PORTING]),
    ({"filter[status]": "ported-out"}, []),
    ({"filter[billing_group_id]": GROUP_ID}, [SALES]),
    ({"filter[billing_group_id]": "null"}, [LOCKED, PORTING, TOLL_FREE, E911]),
    ({"filter[connection_id]": "1494404757140276706"}, [E911]),
    ({"filter[emergency_address_id]": HQ_ID}, [E911]),
    ({"filter[emergency_address_id]": "null"}, [LOCKED, PORTING, TOLL_FREE, SALES]),
    ({"filter[customer_reference]": "acct-1"}, [SALES]),
    ({"filter[phone_number]": "5550004"}, [PORTING]),
    ({"filter[phone_number]": "+1312"}, [LOCKED, PORTING, E911, SALES]),
    ({"filter[phone_number]": "555-0004"}, []),
    ({"filter[country_iso_alpha2]": "US,CA"}, NEWEST_FIRST),
    ({"filter[number_type][eq]": "toll_free"}, [TOLL_FREE]),
    ({"filter[source]": "ported"}, []),
    ({"filter[voice.usage_payment_method]": "channel"}, [TOLL_FREE]),
    ({"filter[voice.connection_name][contains]": "TRUNK"}, [E911, SALES]),
    ({"filter[voice.connection_name][starts_with]": "sip"}, [SALES]),
    ({"filter[tag]": "sales", "filter[status]": "active"}, [LOCKED, SALES]),
])
def test_list_filters(numbers_api: httpx.Client, params: dict[str, str], expected: list[str]) -> None:
    assert ids(numbers_api, **params) == expected


@pytest.mark.parametrize(("params", "parameter"), [
    ({"filter[phone_number]": "31"}, "filter[phone_number]"),
    ({"filter[status]": "lost"}, "filter[status]"),
    ({"filter[voice.connection_name][contains]": "ab"}, "filter[voice.connection_name][contains]"),
    ({"sort": "created_at"}, "sort"),
    ({"page[size]": "251"}, "page[size]"),
    ({"page[number]": "0"}, "page[number]"),
])
def test_list_refuses_what_the_spec_or_service_refuses(numbers_api: httpx.Client, params: dict[str, str],
                                                       parameter: str) -> None:
    response = numbers_api.get("/phone_numbers", params=params)
    assert response.status_code == 422
    assert codes(response) == ["10015"] and errors_of(response)[0]["source"] == {"parameter": parameter}


def test_list_sorts_and_pages(numbers_api: httpx.Client) -> None:
    assert ids(numbers_api, sort="phone_number") == [SALES, E911, PORTING, LOCKED, TOLL_FREE]
    assert ids(numbers_api, sort="usage_payment_method")[0] == TOLL_FREE  # "channel" < "pay-per-minute"
    assert ids(numbers_api, sort="connection_name")[-2:] == [E911, SALES]  # unnamed first
    pages = [numbers_api.get("/phone_numbers", params={"page[size]": 2, "page[number]": n}).json()
             for n in (1, 2, 3, 4)]
    assert [n["id"] for p in pages for n in p["data"]] == NEWEST_FIRST
    assert pages[0]["meta"] == {"page_number": 1, "page_size": 2, "total_pages": 3, "total_results": 5}
    assert pages[3]["data"] == []


def test_slim_list_leaves_out_what_was_not_asked_for(numbers_api: httpx.Client) -> None:
    plain = numbers_api.get("/phone_numbers/slim").json()["data"]
    assert [n["id"] for n in plain] == NEWEST_FIRST
    assert not any("tags" in n or "connection_name" in n or "external_pin" in n for n in plain)
    sales = next(n for n in plain if n["id"] == SALES)
    assert sales["billing_group_id"] == GROUP_ID and "customer_reference" in sales
    assert "billing_group_id" not in next(n for n in plain if n["id"] == TOLL_FREE)  # unset: left out, not null
    rich = numbers_api.get("/phone_numbers/slim", params={"include_tags": "true", "include_connection": "true",
                                                          "filter[tag]": "sales"}).json()["data"]
    assert [n["id"] for n in rich] == [LOCKED, SALES]
    # The options unlock filters; SlimPhoneNumberDetailed declares neither field, so neither is served.
    assert not any("tags" in n or "connection_name" in n for n in rich)
    assert ids(numbers_api, "/phone_numbers/slim", **{"filter[status]": "port_pending"}) == []
    refused = numbers_api.get("/phone_numbers/slim", params={"filter[tag]": "sales"})
    assert refused.status_code == 422 and errors_of(refused)[0]["source"] == {"parameter": "filter[tag]"}


@pytest.mark.parametrize(("path", "params", "status", "where"), [
    ("/phone_numbers/voice", {"filter[voice.usage_payment_method]": "per-call"}, 422,
     "filter[voice.usage_payment_method]"),
    ("/phone_numbers/voice", {"page[size]": "0"}, 422, "page[size]"),
    ("/phone_numbers/messaging", {"filter[type]": "landline"}, 422, "filter[type]"),
    ("/phone_numbers/messaging", {"filter[messaging_profile_id]": "abc"}, 422, "filter[messaging_profile_id]"),
    ("/phone_numbers/messaging", {"sort[phone_number]": "up"}, 422, "sort[phone_number]"),
    ("/phone_numbers/slim", {"include_tags": "yes"}, 422, "include_tags"),
    ("/mobile_phone_numbers/messaging", {"page[size]": "300"}, 422, "page[size]"),
    (f"/phone_numbers/{SALES}9", {}, 404, None),
    (f"/phone_numbers/{SALES}9/voice", {}, 404, None),
    (f"/phone_numbers/{SALES}9/messaging", {}, 404, None),
])
def test_reads_refused(numbers_api: httpx.Client, path: str, params: dict[str, str], status: int,
                       where: str | None) -> None:
    response = numbers_api.get(path, params=params)
    assert response.status_code == status, response.text
    assert errors_of(response)[0].get("source", {}).get("parameter") == where


# -- one number ----------------------------------------------------------------------------

def test_external_pin_is_stored_but_never_shown(numbers_api: httpx.Client, account: Sandbox) -> None:
    assert data(numbers_api.get(f"/phone_numbers/{SALES}"))["external_pin"] is None
    patched = data(numbers_api.patch(f"/phone_numbers/{E911}", json={"external_pin": "9876"}))
    assert patched["external_pin"] is None and "9876" not in numbers_api.get(f"/phone_numbers/{E911}").text
    assert (account.state.get("phone_numbers", E911) or {})["external_pin"] == "9876"
    assert (account.state.get("phone_numbers", SALES) or {})["external_pin"] == "4321"
    for path in ("/phone_numbers", "/phone_numbers/slim", "/phone_numbers/voice", f"/phone_numbers/{SALES}/voice"):
        assert "4321" not in numbers_api.get(path).text


def test_patch_updates_settings_and_moves_updated_at(numbers_api: httpx.Client, clock: Clock) -> None:
    clock.advance(60)
    body = {"tags": ["vip", "vip", "emea"], "customer_reference": "acct-9", "hd_voice_enabled": True,
            "billing_group_id": GROUP_ID, "connection_id": "1494404757140276799"}
    patched = data(numbers_api.patch(f"/phone_numbers/{TOLL_FREE}", json=body))
    assert patched["tags"] == ["vip", "emea"] and patched["customer_reference"] == "acct-9"
    assert patched["hd_voice_enabled"] is True and patched["billing_group_id"] == GROUP_ID
    assert patched["connection_id"] == "1494404757140276799" and patched["connection_name"] is None
    assert patched["updated_at"] == "2024-05-01T12:01:00.000Z" and patched["created_at"] == "2024-01-01T03:00:00.000Z"
    assert data(numbers_api.get(f"/phone_numbers/{TOLL_FREE}")) == patched
    assert ids(numbers_api, **{"filter[tag]": "emea"}) == [TOLL_FREE]
    cleared = data(numbers_api.patch(f"/phone_numbers/{TOLL_FREE}", json={"billing_group_id": "", "tags": []}))
    assert cleared["billing_group_id"] is None and cleared["tags"] == []


@pytest.mark.parametrize(("number", "body", "status", "code", "pointer"), [
    (SALES, {"billing_group_id": "6a09cff1-059b-4dc1-9d4e-0e8e1f0b0c1a"}, 422, "10017", "/billing_group_id"),
    (SALES, {"address_id": "42"}, 422, "10017", "/address_id"),
    (SALES, {"tags": "vip"}, 422, "10015", "/tags"),
    (SALES, {"hd_voice_enabled": "yes"}, 422, "10015", "/hd_voice_enabled"),
    (PORTING, {"tags": ["x"]}, 422, "10015", None),
    ("1999999999999999999", {"tags": ["x"]}, 404, "10005", None),
])
def test_patch_refusals(numbers_api: httpx.Client, number: str, body: dict[str, Any], status: int, code: str,
                        pointer: str | None) -> None:
    response = numbers_api.patch(f"/phone_numbers/{number}", json=body)
    assert response.status_code == status
    assert codes(response) == [code] and pointers(response) == [pointer]


def test_delete_removes_the_number_unless_locked_or_not_active(numbers_api: httpx.Client) -> None:
    gone = data(numbers_api.delete(f"/phone_numbers/{SALES}"))
    assert gone["status"] == "deleted" and gone["id"] == SALES and gone["phone_number"] == NUMBERS[SALES]
    assert "external_pin" not in gone
    assert numbers_api.get(f"/phone_numbers/{SALES}").status_code == 404
    assert SALES not in ids(numbers_api)
    locked = numbers_api.delete(f"/phone_numbers/{LOCKED}")
    assert locked.status_code == 422 and pointers(locked) == ["/deletion_lock_enabled"]
    assert "deletion_lock_enabled" in errors_of(locked)[0]["detail"]
    porting = numbers_api.delete(f"/phone_numbers/{PORTING}")
    assert porting.status_code == 422 and "port-out-pending" in errors_of(porting)[0]["detail"]
    assert len(ids(numbers_api)) == 4


# -- voice, messaging, emergency -----------------------------------------------------------

def test_voice_settings_read_update_and_agree_with_the_detailed_view(numbers_api: httpx.Client) -> None:
    voice = data(numbers_api.get(f"/phone_numbers/{E911}/voice"))
    assert voice["record_type"] == "voice_settings" and voice["phone_number"] == NUMBERS[E911]
    assert voice["emergency"] == {"emergency_enabled": True, "emergency_status": "active",
                                  "emergency_address_id": HQ_ID}
    assert voice["usage_payment_method"] == "pay-per-minute" and voice["call_recording"][
        "inbound_call_recording_format"] == "wav"
    body = {"call_forwarding": {"forwards_to": "+13035559123", "forwarding_type": "always"},
            "call_recording": {"inbound_call_recording_enabled": True},
            "cnam_listing": {"cnam_listing_enabled": True, "cnam_listing_details": "ACME 24"},
            "media_features": {"t38_fax_gateway_enabled": True}, "usage_payment_method": "channel",
            "caller_id_name_enabled": True, "translated_number": "+13035559999"}
    updated = data(numbers_api.patch(f"/phone_numbers/{E911}/voice", json=body))
    assert updated["call_forwarding"] == {"call_forwarding_enabled": True, "forwards_to": "+13035559123",
                                          "forwarding_type": "always"}
    assert updated["call_recording"]["inbound_call_recording_channels"] == "single"  # untouched members kept
    assert updated["usage_payment_method"] == "channel" and updated["translated_number"] == "+13035559999"
    assert "caller_id_name_enabled" not in updated  # PhoneNumberWithVoiceSettings does not declare it
    detailed = data(numbers_api.get(f"/phone_numbers/{E911}"))
    assert (detailed["call_recording_enabled"], detailed["cnam_listing_enabled"], detailed["t38_fax_gateway_enabled"],
            detailed["caller_id_name_enabled"]) == (True, True, True, True)
    assert ids(numbers_api, "/phone_numbers/voice", **{"filter[voice.usage_payment_method]": "channel"}) == [
        TOLL_FREE, E911]
    assert ids(numbers_api, "/phone_numbers/voice", **{"filter[connection_name][contains]": "backup"}) == [E911]


@pytest.mark.parametrize(("body", "code", "pointer"), [
    ({"call_forwarding": {"forwards_to": "3035559123"}}, "10016", "/call_forwarding/forwards_to"),
    ({"cnam_listing": {"cnam_listing_enabled": True}}, "10015", "/cnam_listing/cnam_listing_details"),
    ({"cnam_listing": {"cnam_listing_details": "far too long a name"}}, "10015", "/cnam_listing/cnam_listing_details"),
    ({"usage_payment_method": "per-call"}, "10015", "/usage_payment_method"),
])
def test_voice_refusals(numbers_api: httpx.Client, body: dict[str, Any], code: str, pointer: str) -> None:
    response = numbers_api.patch(f"/phone_numbers/{SALES}/voice", json=body)
    assert response.status_code == 422 and codes(response) == [code] and pointers(response) == [pointer]


def test_messaging_settings(numbers_api: httpx.Client) -> None:
    sales = data(numbers_api.get(f"/phone_numbers/{SALES}/messaging"))
    assert sales["messaging_profile_id"] == PROFILE_ID and sales["type"] == "longcode"
    assert data(numbers_api.get(f"/phone_numbers/{NUMBERS[SALES]}/messaging")) == sales  # by E.164 too
    assert data(numbers_api.get(f"/phone_numbers/{TOLL_FREE}/messaging"))["type"] == "tollfree"
    moved = data(numbers_api.patch(f"/phone_numbers/{E911}/messaging",
                                   json={"messaging_profile_id": PROFILE_ID, "messaging_product": "P2P"}))
    assert moved["messaging_profile_id"] == PROFILE_ID and moved["messaging_product"] == "P2P"
    assert data(numbers_api.get(f"/phone_numbers/{E911}"))["messaging_profile_id"] == PROFILE_ID
    listed = ids(numbers_api, "/phone_numbers/messaging", **{"filter[messaging_profile_id]": PROFILE_ID})
    assert listed == [E911, SALES]
    assert ids(numbers_api, "/phone_numbers/messaging", **{"sort[phone_number]": "desc"})[0] == TOLL_FREE
    assert ids(numbers_api, "/phone_numbers/messaging", **{"filter[type]": "tollfree"}) == [TOLL_FREE]
    assert ids(numbers_api, "/phone_numbers/messaging",
               **{"filter[phone_number]": f"{NUMBERS[SALES]},{NUMBERS[E911]}"}) == [E911, SALES]
    unassigned = data(numbers_api.patch(f"/phone_numbers/{SALES}/messaging", json={"messaging_profile_id": ""}))
    assert unassigned["messaging_profile_id"] is None
    assert data(numbers_api.get(f"/phone_numbers/{SALES}"))["messaging_profile_name"] is None


@pytest.mark.parametrize(("number", "body", "status", "pointer"), [
    (SALES, {"messaging_profile_id": "not-a-uuid"}, 422, "/messaging_profile_id"),
    (TOLL_FREE, {"messaging_product": "P2P"}, 422, "/messaging_product"),
    (SALES, {"messaging_profile_id": None}, 422, "/messaging_profile_id"),
    ("+13125559999", {"messaging_product": "A2P"}, 404, None),
])
def test_messaging_refusals_use_the_messaging_envelope(numbers_api: httpx.Client, number: str, body: dict[str, Any],
                                                       status: int, pointer: str | None) -> None:
    response = numbers_api.patch(f"/phone_numbers/{number}/messaging", json=body)
    assert response.status_code == status and pointers(response) == [pointer]
    assert isinstance(errors_of(response)[0]["code"], str)


def test_an_emergency_address_in_use_cannot_be_deleted_until_the_number_moves(numbers_api: httpx.Client,
                                                                               clock: Clock) -> None:
    refused = numbers_api.delete(f"/addresses/{HQ_ID}")
    assert refused.status_code == 422 and codes(refused) == ["10021"]
    used = numbers_api.get("/addresses", params={"filter[used_as_emergency]": "true"}).json()["data"]
    assert [a["id"] for a in used] == [HQ_ID]

    moved = numbers_api.post(f"/phone_numbers/{E911}/actions/enable_emergency",
                             json={"emergency_enabled": True, "emergency_address_id": LAB_ID})
    assert moved.status_code == 202
    assert data(moved, 202)["emergency"] == {"emergency_enabled": True, "emergency_status": "provisioning",
                                             "emergency_address_id": LAB_ID}
    detailed = data(numbers_api.get(f"/phone_numbers/{E911}"))
    assert (detailed["emergency_address_id"], detailed["emergency_status"]) == (LAB_ID, "provisioning")
    clock.advance(10)  # the account's job_seconds
    assert data(numbers_api.get(f"/phone_numbers/{E911}"))["emergency_status"] == "active"
    assert data(numbers_api.get(f"/phone_numbers/{E911}/voice"))["emergency"]["emergency_status"] == "active"

    assert numbers_api.delete(f"/addresses/{HQ_ID}").status_code == 200
    assert codes(numbers_api.delete(f"/addresses/{LAB_ID}")) == ["10021"]
    off = numbers_api.post(f"/phone_numbers/{E911}/actions/enable_emergency",
                           json={"emergency_enabled": False, "emergency_address_id": LAB_ID})
    assert data(off)["emergency"] == {"emergency_enabled": False, "emergency_status": "disabled"}
    assert numbers_api.delete(f"/addresses/{LAB_ID}").status_code == 200


@pytest.mark.parametrize(("number", "body", "status", "code", "pointer"), [
    (SALES, {"emergency_enabled": True, "emergency_address_id": "404"}, 422, "10017", "/emergency_address_id"),
    (SALES, {"emergency_enabled": True}, 422, "10004", "/emergency_address_id"),
    (PORTING, {"emergency_enabled": True, "emergency_address_id": HQ_ID}, 422, "10015", None),
    ("1999999999999999999", {"emergency_enabled": True, "emergency_address_id": HQ_ID}, 404, "10005", None),
])
def test_enable_emergency_refusals(numbers_api: httpx.Client, number: str, body: dict[str, Any], status: int,
                                   code: str, pointer: str | None) -> None:
    response = numbers_api.post(f"/phone_numbers/{number}/actions/enable_emergency", json=body)
    assert response.status_code == status and codes(response) == [code] and pointers(response) == [pointer]


def test_a_portal_change_of_emergency_address_is_tracked(account: Sandbox) -> None:
    account.state.update("phone_numbers", SALES, {"emergency_enabled": True, "emergency_address_id": LAB_ID})
    assert account.state.users_of("addresses", LAB_ID) == [f"phone_numbers/{SALES}"]
    account.state.delete("phone_numbers", SALES)
    assert account.state.users_of("addresses", LAB_ID) == []


def test_verify_ownership(numbers_api: httpx.Client) -> None:
    body = {"phone_numbers": [NUMBERS[SALES], NUMBERS[PORTING], "+19995550000"]}
    result = data(numbers_api.post("/phone_numbers/actions/verify_ownership", json=body))
    assert result == {"found": [{"id": SALES, "number_val_e164": NUMBERS[SALES]}], "not_found": ["+19995550000"],
                      "record_type": "number_ownership_verification"}
    empty = numbers_api.post("/phone_numbers/actions/verify_ownership", json={"phone_numbers": []})
    assert empty.status_code == 422 and pointers(empty) == ["/phone_numbers"]


def test_bundle_status_change_keeps_the_bundle_but_serves_it_nowhere(numbers_api: httpx.Client, account: Sandbox) -> None:
    path = f"/phone_numbers/{SALES}/actions/bundle_status_change"
    malformed = numbers_api.patch(path, json={"bundle_id": "b"})
    assert malformed.status_code == 422 and pointers(malformed) == ["/bundle_id"]
    first = "5194d8fc-87e6-4188-baa9-1c434bbe861b"
    result = data(numbers_api.patch(path, json={"bundle_id": first}))
    assert result["record_type"] == "voice_settings" and "bundle_id" not in result
    assert account.state.get("phone_numbers", SALES)["_bundle_id"] == first
    assert "bundle_id" not in data(numbers_api.get(f"/phone_numbers/{SALES}"))
    moved = numbers_api.patch(path, json={"bundle_id": "0b9f4f4e-3c1a-4d7e-8f5a-1e2d3c4b5a69"})
    assert moved.status_code == 422 and "remove it from that bundle" in moved.text


def test_routing_and_authentication(numbers_api: httpx.Client, account: Sandbox) -> None:
    assert numbers_api.delete("/phone_numbers/slim").status_code == 405  # a literal segment, not an id
    with client_for(account, key="wrong") as stranger:
        for path in ("/phone_numbers", f"/phone_numbers/{SALES}/messaging", "/v2/mobile_phone_numbers"):
            assert stranger.get(path).status_code == 401


# -- mobile numbers ------------------------------------------------------------------------

def test_mobile_numbers_list_retrieve_update(numbers_api: httpx.Client) -> None:
    # The spec's path carries its own `/v2`: below the base URL the request goes to /v2/v2/...
    first = numbers_api.get("/v2/mobile_phone_numbers", params={"page[size]": 1}).json()
    assert first["meta"] == {"page_number": 1, "page_size": 1, "total_pages": 2, "total_results": 2}
    assert first["data"][0]["id"] == "1100000000000000002"  # newest first
    mobile = data(numbers_api.get(f"/v2/mobile_phone_numbers/{MOBILE}"))
    assert mobile["record_type"] == "mobile_phone_number" and mobile["noise_suppression"] == "disabled"
    assert mobile["tags"] == ["field"] and "messaging_profile_id" not in mobile
    updated = data(numbers_api.patch(f"/v2/mobile_phone_numbers/{MOBILE}", json={
        "tags": ["field", "ops"], "noise_suppression": True, "customer_reference": "van-7",
        "call_forwarding": {"forwards_to": "+13035550000", "forwarding_type": "on-failure"},
        "inbound": {"interception_app_id": "1293384261075731499"}}))
    assert updated["noise_suppression"] == "both" and updated["tags"] == ["field", "ops"]
    assert updated["call_forwarding"]["call_forwarding_enabled"] is True
    assert updated["inbound"] == {"interception_app_id": "1293384261075731499", "interception_app_name": None}
    assert data(numbers_api.get(f"/v2/mobile_phone_numbers/{MOBILE}")) == updated
    messaging = data(numbers_api.get(f"/mobile_phone_numbers/{MOBILE}/messaging"))
    assert messaging["record_type"] == "messaging_settings" and messaging["tags"] == ["field", "ops"]
    assert data(numbers_api.get("/mobile_phone_numbers/+19175550100/messaging"))["id"] == MOBILE
    listed = numbers_api.get("/mobile_phone_numbers/messaging").json()
    assert [m["id"] for m in listed["data"]] == ["1100000000000000002", MOBILE] and listed["meta"]["total_results"] == 2


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("GET", f"/v2/mobile_phone_numbers/{SALES}", None, 404),
    ("PATCH", f"/v2/mobile_phone_numbers/{MOBILE}", {"call_forwarding": {"forwards_to": "555"}}, 422),
    ("PATCH", f"/v2/mobile_phone_numbers/{MOBILE}", {"noise_suppression": "both"}, 422),
    ("GET", "/v2/mobile_phone_numbers?page[size]=251", None, 422),
    ("GET", "/v2/mobile_phone_numbers?page[number]=0", None, 422),
    ("GET", "/mobile_phone_numbers/404/messaging", None, 404),
    ("GET", "/mobile_phone_numbers", None, 404),
])
def test_mobile_refusals(numbers_api: httpx.Client, method: str, path: str, body: Any, status: int) -> None:
    response = numbers_api.request(method, path, json=body)
    assert response.status_code == status
    assert errors_of(response)
