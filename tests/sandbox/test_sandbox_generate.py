"""Generated accounts: reproducible, varied like a real account, and valid against the spec."""

from __future__ import annotations

from collections import Counter

from sandbox_support import client_for

from reconciler.sandbox import Sandbox, generate_account


def test_the_same_seed_gives_the_same_account() -> None:
    first = generate_account(2_000, seed=5, mobile=5)
    assert first == generate_account(2_000, seed=5, mobile=5)
    other = generate_account(2_000, seed=6, mobile=5)
    assert {n["id"] for n in other["phone_numbers"]}.isdisjoint({n["id"] for n in first["phone_numbers"]})
    assert [n["phone_number"] for n in other["phone_numbers"]] != [n["phone_number"] for n in first["phone_numbers"]]
    assert [n.get("tags") for n in other["phone_numbers"]] != [n.get("tags") for n in first["phone_numbers"]]


def test_the_account_has_the_promised_variety() -> None:
    account = generate_account(5_000, seed=1, mobile=7)
    numbers = account["phone_numbers"]
    groups = {g["id"] for g in account["billing_groups"]}
    addresses = {a["id"] for a in account["addresses"]}
    assert len(groups) == 3 and len(addresses) == 4 and all(a["customer_reference"] for a in account["addresses"])
    assert len(account["mobile_phone_numbers"]) == 7

    assert 8 <= len({tuple(n.get("tags", ())) for n in numbers}) <= 10
    assert len({n.get("connection_id") for n in numbers} - {None}) == 4
    assert any("connection_id" not in n for n in numbers)
    assert {n.get("billing_group_id") for n in numbers} == groups | {None}
    assert len({n.get("messaging_profile_id") for n in numbers} - {None}) == 3
    assert len({n.get("customer_reference") for n in numbers} - {None}) > 50

    statuses = Counter(n.get("status", "active") for n in numbers)
    inactive = sum(count for status, count in statuses.items() if status != "active")
    assert 0.01 <= inactive / len(numbers) <= 0.035 and len(statuses) >= 5
    assert {"port-out-pending", "port-pending", "ported-out"} <= set(statuses)
    emergency = [n for n in numbers if n.get("emergency_enabled")]
    assert 0.15 <= len(emergency) / len(numbers) <= 0.35
    assert {n["emergency_address_id"] for n in emergency} == addresses
    assert all(n.get("status", "active") == "active" and not n["phone_number"].startswith("+18") for n in emergency)
    locked = sum(1 for n in numbers if n.get("deletion_lock_enabled"))
    assert 0 < locked < 0.03 * len(numbers)
    assert any(n["phone_number"].startswith(("+1833", "+1844", "+1855")) for n in numbers)

    every_id = [n["id"] for n in numbers] + list(addresses) + [m["id"] for m in account["mobile_phone_numbers"]]
    assert len(set(every_id)) == len(every_id) and all(i.isdigit() and len(i) == 19 for i in every_id)
    every_number = [n["phone_number"] for n in numbers + account["mobile_phone_numbers"]]
    assert len(set(every_number)) == len(every_number)
    assert [n["created_at"] for n in numbers] == sorted(n["created_at"] for n in numbers)


def test_a_generated_account_loads_and_every_view_meets_the_spec() -> None:
    # Up to 1,000 entries per collection, loading checks every record against the resource schema.
    sandbox = Sandbox(seed=generate_account(1_000, seed=2, mobile=5))
    assert sandbox.state.count("phone_numbers") == 1_000
    with client_for(sandbox) as api:  # checks each response against the spec as it arrives
        for path in ("/phone_numbers", "/phone_numbers/slim", "/phone_numbers/voice", "/phone_numbers/messaging"):
            rows = [row for page in (1, 2, 3, 4)
                    for row in api.get(path, params={"page[size]": 250, "page[number]": page}).json()["data"]]
            assert len({row["id"] for row in rows}) == 1_000
        statuses = Counter(row["status"] for page in (1, 2, 3, 4) for row in api.get(
            "/phone_numbers", params={"page[size]": 250, "page[number]": page}).json()["data"])
        assert statuses["active"] < 1_000
        assert len(api.get("/v2/mobile_phone_numbers").json()["data"]) == 5
