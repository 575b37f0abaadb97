"""Lists answer from each number's encoded view, kept while its stored record stays the same.

Whichever path writes a number (a PATCH of any of its views, an emergency or bundle action, a
deletion, a job, a messaging bulk update, a port-out, a change made "in the portal"), the next page of
every list shows it; a view that reads the clock (emergency provisioning) moves with the clock alone;
and a page is byte for byte what a sandbox with nothing cached answers.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import httpx
import pytest
from sandbox_support import E911, LAB_ID, MOBILE, NUMBERS, SALES, TOLL_FREE, Clock

from reconciler.sandbox import Sandbox
from reconciler.sandbox.encoding import Fragment, Fragments, dumps, encode
from reconciler.sandbox.resources.listing import Rendered

LISTS = ("/phone_numbers", "/phone_numbers/slim", "/phone_numbers/voice", "/phone_numbers/messaging",
         "/v2/mobile_phone_numbers", "/mobile_phone_numbers/messaging")
PROFILE = "dd50eba1-a0c0-4563-9925-b25e842a7cb6"
BUNDLE = "5194d8fc-87e6-4188-baa9-1c434bbe861b"
Write = Callable[[httpx.Client, Sandbox, Clock], None]


def rows(api: httpx.Client, path: str) -> dict[str, dict[str, Any]]:
    response = api.get(path, params={"page[size]": 250})
    assert response.status_code == 200, response.text
    return {row["id"]: row for row in response.json()["data"]}


def read_every_list(api: httpx.Client) -> None:
    for path in LISTS:
        assert rows(api, path)


def sent(response: httpx.Response) -> None:
    assert response.status_code < 300, response.text


def patch_tags(api: httpx.Client, sandbox: Sandbox, clock: Clock) -> None:
    sent(api.patch(f"/phone_numbers/{SALES}", json={"tags": ["moved"]}))


def patch_voice(api: httpx.Client, sandbox: Sandbox, clock: Clock) -> None:
    sent(api.patch(f"/phone_numbers/{SALES}/voice", json={"tech_prefix_enabled": True}))


def patch_messaging_by_number(api: httpx.Client, sandbox: Sandbox, clock: Clock) -> None:
    sent(api.patch(f"/phone_numbers/{NUMBERS[SALES]}/messaging", json={"messaging_product": "P2P"}))


def disable_emergency(api: httpx.Client, sandbox: Sandbox, clock: Clock) -> None:
    sent(api.post(f"/phone_numbers/{E911}/actions/enable_emergency", json={"emergency_enabled": False, "emergency_address_id": LAB_ID}))


def change_bundle(api: httpx.Client, sandbox: Sandbox, clock: Clock) -> None:
    clock.advance(1)  # the only thing a bundle move shows is `updated_at`
    sent(api.patch(f"/phone_numbers/{SALES}/actions/bundle_status_change", json={"bundle_id": BUNDLE}))


def delete(api: httpx.Client, sandbox: Sandbox, clock: Clock) -> None:
    sent(api.delete(f"/phone_numbers/{SALES}"))


def update_job(api: httpx.Client, sandbox: Sandbox, clock: Clock) -> None:
    sent(api.post("/phone_numbers/jobs/update_phone_numbers", json={"phone_numbers": [SALES], "tags": ["by-job"]}))
    clock.advance(60)


def emergency_job(api: httpx.Client, sandbox: Sandbox, clock: Clock) -> None:
    sent(api.post("/phone_numbers/jobs/update_emergency_settings",
                  json={"phone_numbers": [E911], "emergency_enabled": True, "emergency_address_id": LAB_ID}))
    clock.advance(60)


def delete_job(api: httpx.Client, sandbox: Sandbox, clock: Clock) -> None:
    sent(api.post("/phone_numbers/jobs/delete_phone_numbers", json={"phone_numbers": [SALES]}))
    clock.advance(60)


def messaging_bulk_update(api: httpx.Client, sandbox: Sandbox, clock: Clock) -> None:
    sent(api.post("/messaging_numbers_bulk_updates", json={"messaging_profile_id": PROFILE,
                                                            "numbers": [NUMBERS[SALES]]}))
    clock.advance(60)


def portout(api: httpx.Client, sandbox: Sandbox, clock: Clock) -> None:
    sandbox.add("portouts", {"phone_numbers": [NUMBERS[SALES]], "carrier_name": "Other Carrier"})


def in_the_portal(api: httpx.Client, sandbox: Sandbox, clock: Clock) -> None:
    sandbox.state.update("phone_numbers", SALES, {"customer_reference": "portal"})


def patch_mobile(api: httpx.Client, sandbox: Sandbox, clock: Clock) -> None:
    sent(api.patch(f"/v2/mobile_phone_numbers/{MOBILE}", json={"tags": ["moved"], "customer_reference": "m"}))


CASES: list[tuple[Write, str, str, Callable[[dict[str, Any] | None], bool]]] = [
    (patch_tags, "/phone_numbers", SALES, lambda row: row is not None and row["tags"] == ["moved"]),
    (patch_tags, "/phone_numbers/messaging", SALES, lambda row: row is not None and row["tags"] == ["moved"]),
    (patch_voice, "/phone_numbers/voice", SALES, lambda row: row is not None and row["tech_prefix_enabled"]),
    (patch_messaging_by_number, "/phone_numbers/messaging", SALES,
     lambda row: row is not None and row["messaging_product"] == "P2P"),
    (disable_emergency, "/phone_numbers", E911, lambda row: row is not None and not row["emergency_enabled"]),
    (disable_emergency, "/phone_numbers/voice", E911,
     lambda row: row is not None and row["emergency"]["emergency_status"] == "disabled"),
    (change_bundle, "/phone_numbers/slim", SALES,
     lambda row: row is not None and row["updated_at"] == "2024-05-01T12:00:01.000Z"),
    (delete, "/phone_numbers", SALES, lambda row: row is None),
    (delete, "/phone_numbers/messaging", SALES, lambda row: row is None),
    (update_job, "/phone_numbers", SALES, lambda row: row is not None and row["tags"] == ["by-job"]),
    (emergency_job, "/phone_numbers/voice", E911,
     lambda row: row is not None and row["emergency"]["emergency_address_id"] == LAB_ID),
    (delete_job, "/phone_numbers/slim", SALES, lambda row: row is None),
    (messaging_bulk_update, "/phone_numbers/messaging", SALES,
     lambda row: row is not None and row["messaging_profile_id"] == PROFILE),
    (portout, "/phone_numbers", SALES, lambda row: row is not None and row["status"] == "port-out-pending"),
    (in_the_portal, "/phone_numbers", SALES, lambda row: row is not None and row["customer_reference"] == "portal"),
    (patch_mobile, "/v2/mobile_phone_numbers", MOBILE, lambda row: row is not None and row["tags"] == ["moved"]),
    (patch_mobile, "/mobile_phone_numbers/messaging", MOBILE,
     lambda row: row is not None and row["tags"] == ["moved"]),
]


@pytest.mark.parametrize(("write", "path", "ident", "shows"), CASES,
                         ids=[f"{write.__name__}:{path}" for write, path, _, _ in CASES])
def test_a_write_is_in_the_next_page(account: Sandbox, numbers_api: httpx.Client, clock: Clock, write: Write,
                                     path: str, ident: str, shows: Callable[[dict[str, Any] | None], bool]) -> None:
    before = rows(numbers_api, path).get(ident)
    read_every_list(numbers_api)  # every view of every number is cached now
    write(numbers_api, account, clock)
    after = rows(numbers_api, path).get(ident)
    assert not shows(before) and shows(after), (before, after)


def test_emergency_provisioning_becomes_active_on_the_clock_alone(numbers_api: httpx.Client, clock: Clock) -> None:
    sent(numbers_api.post(f"/phone_numbers/{SALES}/actions/enable_emergency",
                          json={"emergency_enabled": True, "emergency_address_id": LAB_ID}))
    assert rows(numbers_api, "/phone_numbers")[SALES]["emergency_status"] == "provisioning"
    assert rows(numbers_api, "/phone_numbers/voice")[SALES]["emergency"]["emergency_status"] == "provisioning"
    clock.advance(10)  # the account's job_seconds; no write in between
    assert rows(numbers_api, "/phone_numbers")[SALES]["emergency_status"] == "active"
    assert rows(numbers_api, "/phone_numbers/slim")[SALES]["emergency_status"] == "active"
    assert rows(numbers_api, "/phone_numbers/voice")[SALES]["emergency"]["emergency_status"] == "active"


def every_list(api: httpx.Client) -> dict[str, bytes]:
    return {path: api.get(path, params={"page[size]": 250}).content for path in LISTS}


def forget_every_view(sandbox: Sandbox) -> int:
    caches = [value for collection in sandbox.collections.values() for value in vars(collection).values()
              if isinstance(value, Rendered)]
    for cache in caches:
        cache.clear()
    return len(caches)


def test_every_page_is_what_a_sandbox_with_nothing_cached_answers(account: Sandbox, numbers_api: httpx.Client,
                                                                   clock: Clock) -> None:
    for write in dict.fromkeys(write for write, *_ in CASES):
        read_every_list(numbers_api)
        if write not in (delete, delete_job, portout):  # these end what the others change
            write(numbers_api, account, clock)
    sent(numbers_api.post(f"/phone_numbers/{E911}/actions/enable_emergency",
                          json={"emergency_enabled": True, "emergency_address_id": LAB_ID}))
    read_every_list(numbers_api)
    clock.advance(10)
    sent(numbers_api.delete(f"/phone_numbers/{TOLL_FREE}"))
    portout(numbers_api, account, clock)
    cached = every_list(numbers_api)
    assert forget_every_view(account) == len(LISTS)
    assert every_list(numbers_api) == cached
    listed = cached["/phone_numbers"]
    assert b'"emergency_status":"active"' in listed and b'"status":"port-out-pending"' in listed
    assert TOLL_FREE.encode() not in listed and b'"by-job"' in listed


def test_a_body_of_encoded_rows_is_what_encoding_it_whole_gives() -> None:
    items: list[Any] = [{"name": "Zoë ☎", "tags": ["a\"b", "\u0001"], "n": 1.5, "none": None}, [], "x"]
    body = {"data": items, "meta": {"page_number": 1}, "single": {"ok": True}}
    spliced = {"data": Fragments(Fragment(dumps(item)) for item in items), "meta": {"page_number": 1},
               "single": Fragment(dumps({"ok": True}))}
    assert encode(spliced) == json.dumps(body, separators=(",", ":")).encode() == encode(body)
    assert encode({"data": Fragments()}) == b'{"data":[]}'
