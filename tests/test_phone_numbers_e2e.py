"""Phone numbers at account scale: the real CLI against the real sandbox, served on loopback.

Accounts are generated (`generate_account`); background jobs run in tens of milliseconds
(`job_seconds`, `job_seconds_per_number`) so that a 10,000-number apply takes seconds. Small accounts
check every request and answer against the OpenAPI subset; the 10,000-number one counts requests.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml_rs
from support import API_KEY, Account, served, write_config

from reconciler.kinds import KINDS
from reconciler.plan import Action
from reconciler.sandbox import RecordedRequest, Sandbox, SandboxResponse, generate_account
from reconciler.yamlio import dumps

FAST_JOBS = {"job_seconds": 0.05, "job_seconds_per_number": 0.00002}
JOBS = "/v2/phone_numbers/jobs"


@contextmanager
def numbers_account(numbers: int, *, mobile: int = 0, check: bool = True, **options: float) -> Iterator[Account]:
    """A generated account served on loopback; with `check`, every exchange is checked against the spec."""
    sandbox = Sandbox(api_key=API_KEY, seed=generate_account(numbers, seed=3, mobile=mobile), **{**FAST_JOBS, **options})
    with served(sandbox, check=check) as account:
        yield account


def since(account: Account, start: int) -> list[RecordedRequest]:
    return account.sandbox.requests[start:]


def gets(requests: Sequence[RecordedRequest]) -> Counter[str]:
    return Counter(r.path for r in requests if r.method == "GET")


def exported(account: Account, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    path = tmp_path / "exported.yaml"
    result = account.run("export", "--out", str(path))
    assert result.exit_code == 0, result.output
    return path, yaml_rs.loads(path.read_text())


def rewrite(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(dumps(document))
    return path


def numbers(account: Account) -> list[dict[str, Any]]:
    return account.sandbox.state.all("phone_numbers")


def active(account: Account) -> list[dict[str, Any]]:
    return [n for n in numbers(account) if n.get("status", "active") == "active"]


def fewest_jobs(tag_sets: list[tuple[str, ...]]) -> int:
    """The issue's minimum: over the distinct resulting values, ceil(numbers with it / 1,000)."""
    return sum(math.ceil(count / 1000) for count in Counter(tag_sets).values())


def test_an_exported_account_of_10000_numbers_plans_clean_and_a_tag_on_every_number_takes_the_fewest_jobs(
    tmp_path: Path,
) -> None:
    with numbers_account(10_000, check=False) as account:
        config, document = exported(account, tmp_path)
        start = len(account.sandbox.requests)
        clean = account.run("plan", str(config), "--detailed-exitcode")
        assert clean.exit_code == 0, clean.output
        reads = since(account, start)
        # 40 pages of 250 for the numbers and for their voice settings (the export has some); no per-number reads
        assert gets(reads) == {"/v2/phone_numbers": 40, "/v2/phone_numbers/voice": 40, "/v2/billing_groups": 1,
                               "/v2/addresses": 1}
        assert all(("page[size]", "250") in r.query for r in reads if r.path.startswith("/v2/phone_numbers"))

        for entry in document["phone_numbers"]["entries"]:
            entry["tags"] = sorted({*entry["tags"], "reviewed"})
        tagged = rewrite(config, document)
        start = len(account.sandbox.requests)
        applied = account.run("apply", str(tagged), "--auto-approve", "--force")
        assert applied.exit_code == 0, applied.output
        writes = [r for r in since(account, start) if r.method != "GET" or r.path.startswith(JOBS)]
        jobs = [r for r in writes if r.method == "POST"]
        polls = [r for r in writes if r.method == "GET"]
        changed = active(account)
        assert {r.path for r in jobs} == {f"{JOBS}/update_phone_numbers"}
        assert len(jobs) == fewest_jobs([tuple(n["tags"]) for n in changed]) == 14
        assert len(polls) <= 3 * len(jobs) and len(jobs) + len(polls) <= 40
        assert all("reviewed" in n["tags"] for n in changed)
        assert f"phone_numbers: {len(changed):,} of {len(changed):,} numbers updated" in applied.stdout
        assert re.search(r"are port-out-pending, so they are left alone \(it is being ported out\)", applied.stdout)
        assert not any("reviewed" in n.get("tags", ()) for n in numbers(account) if n.get("status", "active") != "active")

        again = account.run("plan", str(tagged), "--detailed-exitcode")
        assert again.exit_code == 0, again.output


def test_an_export_names_billing_groups_addresses_and_profiles_and_plans_clean(tmp_path: Path) -> None:
    with numbers_account(1_000, mobile=20) as account:
        config, document = exported(account, tmp_path)
        assert document["phone_numbers"]["defaults"] == {"hd_voice_enabled": False, "deletion_lock_enabled": False}
        entries = document["phone_numbers"]["entries"]
        assert any(e.get("hd_voice_enabled") for e in entries) and any(e.get("deletion_lock_enabled") for e in entries)
        assert {e.get("billing_group") for e in entries} == {"Engineering", "Sales", "Support", None}
        assert {e["emergency"].get("address") for e in entries if "emergency" in e} == {
            "site-hq", "site-nyc", "site-sf", "site-chi", None}
        assert sum(1 for e in entries if "messaging_profile_id" in e.get("messaging", {})) > 300
        assert any("voice" in e for e in entries) and len(document["mobile_phone_numbers"]) == 20
        assert "billing_group_id" not in config.read_text() and "emergency_address_id" not in config.read_text()
        result = account.run("plan", str(config), "--detailed-exitcode")
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("settings", "extra_lists"), [
    ("    tags: [sales]\n", set()),
    ("    voice: {usage_payment_method: channel}\n", {"/v2/phone_numbers/voice"}),
    ("    messaging: {messaging_product: A2P}\n", {"/v2/phone_numbers/messaging"}),
    ("    messaging: {messaging_profile_id: null}\n", set()),  # the profile is on the numbers list itself
    ("    voice: {caller_id_name_enabled: true}\n", set()),  # only /phone_numbers carries it
])
def test_reads_are_the_list_pages_the_config_needs_and_pages_are_concurrent(
    tmp_path: Path, settings: str, extra_lists: set[str],
) -> None:
    with numbers_account(3_000, check=False, latency_ms=20) as account:
        number = active(account)[0]["phone_number"]
        config = write_config(tmp_path, "c.yaml", f"phone_numbers:\n  - phone_number: '{number}'\n{settings}")
        in_flight = watch_concurrency(account.sandbox)
        result = account.run("plan", str(config))
        assert result.exit_code == 0, result.output
        lists = {"/v2/phone_numbers", "/v2/billing_groups", "/v2/addresses", *extra_lists}
        pages = {path: (12 if path.startswith("/v2/phone_numbers") else 1) for path in lists}
        assert gets(account.sandbox.requests) == pages  # 3,000 numbers: 12 pages of 250 per list, nothing per number
        assert in_flight["most"] > 2


def watch_concurrency(sandbox: Sandbox) -> dict[str, int]:
    """Count the requests the sandbox is answering at once."""
    seen = {"now": 0, "most": 0}
    lock = threading.Lock()
    handle = sandbox.handle

    def counted(method: str, path: str, query: Sequence[tuple[str, str]], headers: Mapping[str, str],
                body: bytes) -> SandboxResponse:
        with lock:
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        try:
            return handle(method, path, query, headers, body)
        finally:
            with lock:
                seen["now"] -= 1

    sandbox.handle = counted  # type: ignore[method-assign]
    return seen


def emergency_numbers_keep_an_address(sandbox: Sandbox, broken: list[str]) -> None:
    """After every request, check that each number with emergency services has an address that exists."""
    handle = sandbox.handle

    def checked(method: str, path: str, query: Sequence[tuple[str, str]], headers: Mapping[str, str],
                body: bytes) -> SandboxResponse:
        response = handle(method, path, query, headers, body)
        state = sandbox.state
        for ident in state.ids("phone_numbers"):
            record = state.peek("phone_numbers", ident) or {}
            if record.get("emergency_enabled") and state.peek("addresses", str(record.get("emergency_address_id"))) is None:
                broken.append(f"after {method} {path}: {record['phone_number']}")
        return response

    sandbox.handle = checked  # type: ignore[method-assign]


def moved_address(document: dict[str, Any]) -> dict[str, Any]:
    hq = next(a for a in document["addresses"] if a["name"] == "site-hq")
    hq["extended_address"] = "Floor 3"
    return hq


def test_an_emergency_address_change_creates_moves_then_deletes_and_no_number_is_ever_without_one(
    tmp_path: Path,
) -> None:
    with numbers_account(400) as account:
        config, document = exported(account, tmp_path)
        moved_address(document)
        old = next(a["id"] for a in account.sandbox.state.all("addresses") if a["customer_reference"] == "site-hq")
        users = {n["phone_number"] for n in numbers(account) if n.get("emergency_address_id") == old}
        broken: list[str] = []
        emergency_numbers_keep_an_address(account.sandbox, broken)

        plan = account.run("plan", str(rewrite(config, document)))
        assert "+/- addresses[site-hq]" in plan.stdout
        assert plan.stdout.count('emergency.address: "site-hq (being replaced)" -> "site-hq"') == len(users) > 10
        assert (f"{len(users)} phone number(s) use it for emergency services: apply creates the new address first, "
                f"moves {len(users)} of them to it, and deletes the old one last") in plan.stdout

        start = len(account.sandbox.requests)
        applied = account.run("apply", str(config), "--auto-approve")
        assert applied.exit_code == 0, applied.output
        writes = [f"{r.method} {r.path}" for r in since(account, start) if r.method != "GET"]
        assert writes == ["POST /v2/addresses/actions/validate", "POST /v2/addresses",
                          f"POST {JOBS}/update_emergency_settings", f"DELETE /v2/addresses/{old}"]
        new = next(a["id"] for a in account.sandbox.state.all("addresses") if a["customer_reference"] == "site-hq")
        assert {n["phone_number"] for n in numbers(account) if n.get("emergency_address_id") == new} == users
        assert broken == []
        assert account.run("plan", str(config), "--detailed-exitcode").exit_code == 0


def test_deleting_the_old_address_first_is_refused_by_the_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(KINDS["addresses"], "replace_action", Action.DELETE_BEFORE_CREATE)
    with numbers_account(400) as account:
        config, document = exported(account, tmp_path)
        moved_address(document)
        old = next(a["id"] for a in account.sandbox.state.all("addresses") if a["customer_reference"] == "site-hq")
        broken: list[str] = []
        emergency_numbers_keep_an_address(account.sandbox, broken)
        result = account.run("apply", str(rewrite(config, document)), "--auto-approve")
        assert result.exit_code == 1
        assert "is in use as an emergency address and cannot be deleted. [code 10021]" in result.stderr
        assert "Traceback" not in result.output
        assert account.writes() == [f"DELETE /v2/addresses/{old}"]
        assert broken == []


def first_numbers(account: Account, count: int, **wanted: Any) -> list[str]:
    return [n["phone_number"] for n in active(account) if all(n.get(k) == v for k, v in wanted.items())][:count]


@pytest.mark.parametrize("case", ["not owned", "not E.164", "unknown billing group", "unknown address"])
def test_a_config_the_account_cannot_take_is_one_clear_error_before_any_write(tmp_path: Path, case: str) -> None:
    with numbers_account(300) as account:
        owned = first_numbers(account, 1)[0]
        entries = {
            "not owned": f"  - phone_number: '+13125550001'\n    tags: [x]\n  - phone_number: '{owned}'\n"
                         "  - phone_number: '+13125550002'\n",
            "not E.164": f"  - phone_number: '{owned}'\n  - phone_number: '312-555-0100'\n",
            "unknown billing group": f"  - phone_number: '{owned}'\n    billing_group: Finance\n",
            "unknown address": f"  - phone_number: '{owned}'\n    emergency: {{enabled: true, address: site-mars}}\n",
        }[case]
        config = write_config(tmp_path, "numbers.yaml", "phone_numbers:\n" + entries)
        result = account.run("apply", str(config), "--auto-approve", "--force")
        assert result.exit_code == 1 and "Traceback" not in result.output
        expected = {
            "not owned": "2 phone number(s) in the config are not in the account: the API confirms the account does "
                         "not own them (the tool manages numbers the account owns; it does not buy them): "
                         "+13125550001, +13125550002",
            "not E.164": f"{config}:3:",
            "unknown billing group": f"{config}:3:",
            "unknown address": f"{config}:3:",
        }[case]
        assert expected in result.stderr
        words = {"not owned": "not in the account", "not E.164": "is not in E.164 format",
                 "unknown billing group": "billing group 'Finance' exists neither in the config nor in the account",
                 "unknown address": "address 'site-mars' exists neither in the config nor in the account"}[case]
        assert words in result.stderr
        assert result.stderr.count("not in the account") <= 1
        assert account.writes() == []


def test_a_release_needs_the_flag_says_the_number_is_lost_and_spares_locked_numbers(tmp_path: Path) -> None:
    with numbers_account(300) as account:
        gone = first_numbers(account, 1)[0]
        locked = first_numbers(account, 1, deletion_lock_enabled=True)[0]
        config = write_config(tmp_path, "c.yaml", f"phone_numbers:\n  - phone_number: '{gone}'\n    release: true\n"
                                                  f"  - phone_number: '{locked}'\n    release: true\n")
        plan = account.run("plan", str(config))
        assert f"- phone_numbers[{gone}]  (delete: release: the number leaves the account and is lost; this cannot be " \
               "undone (apply needs --allow-release))" in plan.stdout
        assert f"{locked} is marked release: true but has deletion_lock_enabled; it is never released." in plan.stdout
        refused = account.run("apply", str(config), "--auto-approve")
        assert refused.exit_code == 1 and "--allow-release" in refused.stderr and account.writes() == []

        released = account.run("apply", str(config), "--auto-approve", "--allow-release")
        assert released.exit_code == 0, released.output
        assert account.writes() == [f"POST {JOBS}/delete_phone_numbers"]
        assert "phone_numbers: 1 of 1 numbers released" in released.stdout
        remaining = {n["phone_number"] for n in numbers(account)}
        assert gone not in remaining and locked in remaining


def test_numbers_that_are_not_active_are_left_alone_with_a_note(tmp_path: Path) -> None:
    with numbers_account(300) as account:
        leaving = next(n["phone_number"] for n in numbers(account) if n.get("status") == "port-out-pending")
        usable = first_numbers(account, 1)[0]
        config = write_config(tmp_path, "c.yaml", f"phone_numbers:\n  - phone_number: '{leaving}'\n    tags: [moved]\n"
                                                  f"  - phone_number: '{usable}'\n    tags: [moved]\n")
        plan = account.run("plan", str(config))
        assert f"~ phone_numbers[{usable}]" in plan.stdout and f"phone_numbers[{leaving}]" not in plan.stdout
        assert (f"1 phone number(s) differ from the config but are port-out-pending, so they are left alone (it is "
                f"being ported out): {leaving}") in plan.stdout
        config.write_text(f"phone_numbers:\n  - phone_number: '{leaving}'\n    release: true\n")
        release = account.run("apply", str(config), "--auto-approve", "--allow-release")
        assert release.exit_code == 0 and account.writes() == []
        assert leaving in {n["phone_number"] for n in numbers(account)}


def test_fields_left_out_are_not_managed(tmp_path: Path) -> None:
    with numbers_account(300) as account:
        number = next(n for n in active(account) if n.get("connection_id") and n.get("tags"))
        config = write_config(tmp_path, "c.yaml", f"phone_numbers:\n  - phone_number: '{number['phone_number']}'\n"
                                                  "    connection_id: '42'\n")
        plan = account.run("plan", str(config), "--format", "json")
        changes = yaml_rs.loads(plan.stdout)["changes"]
        assert [(c["key"], c["changed_fields"]) for c in changes] == [(number["phone_number"], [
            {"path": "connection_id", "before": number["connection_id"], "after": "42"}])]


def test_numbers_a_job_could_not_change_are_reported_one_by_one_and_the_next_plan_shows_them(tmp_path: Path) -> None:
    with numbers_account(300) as account:
        config, document = exported(account, tmp_path)
        for entry in document["phone_numbers"]["entries"]:
            entry["tags"] = sorted({*entry["tags"], "audited"})
        porting = first_numbers(account, 3)
        port_out_arrives_with_the_first_job(account.sandbox, porting)
        failed = account.run("apply", str(rewrite(config, document)), "--auto-approve", "--force")
        assert failed.exit_code == 1
        assert "apply stopped: 3 changes failed" in failed.stderr
        for number in porting:
            assert re.search(rf"failed: +~ phone_numbers\[\{number}\]: The phone number \{number} is "
                             r"port-out-pending; only active numbers can be changed or deleted\. \[code 10015\]",
                             failed.stderr)
        for number in porting:  # the port-outs are rejected: the numbers are active again
            ident = account.sandbox.state.lookup("phone_numbers", "phone_number", number)
            account.sandbox.state.update("phone_numbers", str(ident), {"status": "active"})
        left = account.run("plan", str(config), "--format", "json")
        assert sorted(c["key"] for c in yaml_rs.loads(left.stdout)["changes"]) == sorted(porting)


def port_out_arrives_with_the_first_job(sandbox: Sandbox, affected: list[str]) -> None:
    """A port-out order for `affected` arrives while the first update job is waiting to run."""
    handle = sandbox.handle

    def arriving(method: str, path: str, query: Sequence[tuple[str, str]], headers: Mapping[str, str],
                 body: bytes) -> SandboxResponse:
        response = handle(method, path, query, headers, body)
        if method == "POST" and path.endswith("/update_phone_numbers") and affected:
            for number in affected:
                ident = sandbox.state.lookup("phone_numbers", "phone_number", number)
                sandbox.state.update("phone_numbers", str(ident), {"status": "port-out-pending"})
            sandbox.handle = handle  # type: ignore[method-assign]  # once
        return response

    sandbox.handle = arriving  # type: ignore[method-assign]


def test_mobile_number_settings_plan_and_apply(tmp_path: Path) -> None:
    with numbers_account(50, mobile=12) as account:
        mobiles = account.sandbox.state.all("mobile_phone_numbers")[:3]
        entries = "".join(f"  - phone_number: '{m['phone_number']}'\n    tags: [fleet]\n    inbound_call_screening: flag_calls\n"
                          "    call_forwarding: {forwards_to: '+13125550100', forwarding_type: on-failure}\n"
                          for m in mobiles)
        config = write_config(tmp_path, "m.yaml", "mobile_phone_numbers:\n" + entries)
        plan = account.run("plan", str(config), "--detailed-exitcode")
        assert plan.exit_code == 2 and "Plan: 0 to create, 3 to update" in plan.stdout
        assert 'call_forwarding.forwards_to: null -> "+13125550100"' in plan.stdout
        applied = account.run("apply", str(config), "--auto-approve")
        assert applied.exit_code == 0, applied.output
        assert sorted(account.writes()) == sorted(f"PATCH /v2/v2/mobile_phone_numbers/{m['id']}" for m in mobiles)
        stored = {m["id"]: m for m in account.sandbox.state.all("mobile_phone_numbers")}
        assert all(stored[m["id"]]["tags"] == ["fleet"] and stored[m["id"]]["inbound_call_screening"] == "flag_calls"
                   for m in mobiles)
        assert account.run("plan", str(config), "--detailed-exitcode").exit_code == 0


def test_billing_group_emergency_and_messaging_profile_changes_go_through_jobs_and_bulk_updates(tmp_path: Path) -> None:
    with numbers_account(300) as account:
        plain = [n for n in active(account) if not n.get("emergency_enabled") and not n["phone_number"].startswith("+18")]
        profile = "4001767e-ce0f-4cae-9d5f-0d5e636e7809"
        entries = "".join(f"  - phone_number: '{n['phone_number']}'\n    billing_group: Support\n"
                          f"    emergency: {{enabled: true, address: site-sf}}\n"
                          f"    messaging: {{messaging_profile_id: {profile}}}\n" for n in plain[:5])
        config = write_config(tmp_path, "c.yaml", "phone_numbers:\n" + entries)
        applied = account.run("apply", str(config), "--auto-approve")
        assert applied.exit_code == 0, applied.output
        # The ids of the group and the address come with the plan: apply does not list them again.
        listed = gets(account.sandbox.requests)
        assert (listed["/v2/billing_groups"], listed["/v2/addresses"]) == (1, 1), listed
        assert sorted(account.writes()) == sorted([f"POST {JOBS}/update_emergency_settings",
                                                   f"POST {JOBS}/update_phone_numbers", "POST /v2/messaging_numbers_bulk_updates"])
        groups = {g["name"]: g["id"] for g in account.sandbox.state.all("billing_groups")}
        sf = next(a["id"] for a in account.sandbox.state.all("addresses") if a["customer_reference"] == "site-sf")
        stored = {n["phone_number"]: n for n in numbers(account)}
        for n in plain[:5]:
            now = stored[n["phone_number"]]
            assert (now["billing_group_id"], now["emergency_address_id"], now["messaging_profile_id"]) == (
                groups["Support"], sf, profile)
        assert account.run("plan", str(config), "--detailed-exitcode").exit_code == 0


def test_an_export_of_numbers_alone_still_names_their_billing_groups_and_addresses(tmp_path: Path) -> None:
    with numbers_account(300) as account:
        path = tmp_path / "numbers.yaml"
        assert account.run("export", "--kind", "phone_numbers", "--out", str(path)).exit_code == 0
        document = yaml_rs.loads(path.read_text())
        assert set(document) == {"phone_numbers"}  # billing groups and addresses were read, not written
        entries = document["phone_numbers"]["entries"]
        assert {e.get("billing_group") for e in entries} >= {"Engineering", "Sales", "Support"}
        assert any(e.get("emergency", {}).get("address") == "site-hq" for e in entries)
        assert account.run("plan", str(path), "--detailed-exitcode").exit_code == 0


def test_caller_id_name_is_written_with_the_voice_settings_and_read_where_the_api_sends_it(tmp_path: Path) -> None:
    with numbers_account(30) as account:
        chosen = [n["phone_number"] for n in active(account)][:3]
        entries = "".join(f"  - phone_number: '{n}'\n    voice: {{caller_id_name_enabled: true, usage_payment_method: channel}}\n"
                          for n in chosen)
        config = write_config(tmp_path, "c.yaml", "phone_numbers:\n" + entries)
        applied = account.run("apply", str(config), "--auto-approve")
        assert applied.exit_code == 0, applied.output
        stored = {n["phone_number"]: n for n in numbers(account)}
        assert all(stored[n].get("caller_id_name_enabled") is True for n in chosen)
        again = account.run("plan", str(config), "--detailed-exitcode")
        assert again.exit_code == 0, again.output  # no change planned on every run
        account.sandbox.state.replace("phone_numbers", stored[chosen[0]]["id"],
                                      {**stored[chosen[0]], "caller_id_name_enabled": False})
        drift = account.run("plan", str(config), "--detailed-exitcode")
        assert drift.exit_code == 2 and "voice.caller_id_name_enabled: false -> true" in drift.stdout


def test_a_profile_move_and_a_product_change_on_the_same_numbers_both_stay(tmp_path: Path) -> None:
    with numbers_account(60) as account:
        chosen = [n for n in active(account) if not n["phone_number"].startswith("+18")][:4]
        profile = "4001767e-ce0f-4cae-9d5f-0d5e636e7809"
        entries = "".join(f"  - phone_number: '{n['phone_number']}'\n"
                          f"    messaging: {{messaging_profile_id: {profile}, messaging_product: P2P}}\n" for n in chosen)
        config = write_config(tmp_path, "c.yaml", "phone_numbers:\n" + entries)
        bodies = record_bodies(account.sandbox, "/v2/messaging_numbers_bulk_updates")
        applied = account.run("apply", str(config), "--auto-approve")
        assert applied.exit_code == 0, applied.output
        assert [b.get("assign_only") for b in bodies] == [True]  # the profile alone is meant to change
        writes = account.writes()
        assert writes[0] == "POST /v2/messaging_numbers_bulk_updates" and len(writes) == 1 + len(chosen)
        stored = {n["phone_number"]: n for n in numbers(account)}
        assert all((stored[n["phone_number"]].get("messaging_profile_id"), stored[n["phone_number"]].get(
            "messaging_product")) == (profile, "P2P") for n in chosen)
        assert account.run("plan", str(config), "--detailed-exitcode").exit_code == 0


def record_bodies(sandbox: Sandbox, path: str) -> list[dict[str, Any]]:
    """The JSON bodies of the POSTs to `path`, as they arrive."""
    bodies: list[dict[str, Any]] = []
    handle = sandbox.handle

    def recording(method: str, at: str, query: Sequence[tuple[str, str]], headers: Mapping[str, str],
                  body: bytes) -> SandboxResponse:
        if method == "POST" and at == path:
            bodies.append(json.loads(body))
        return handle(method, at, query, headers, body)

    sandbox.handle = recording  # type: ignore[method-assign]
    return bodies


def test_apply_waits_for_room_when_jobs_started_elsewhere_fill_the_limit(tmp_path: Path) -> None:
    with numbers_account(60, job_seconds=0.1, job_seconds_per_number=0.05) as account:
        plain = [n["phone_number"] for n in active(account)]
        with httpx.Client(transport=account.sandbox.transport(), base_url="http://sandbox.local/v2",
                          headers={"Authorization": f"Bearer {API_KEY}"}) as portal:
            for _ in range(20):  # another client's 20 unfinished update jobs (the API's limit), of seconds each
                started = portal.post(f"{JOBS[3:]}/update_phone_numbers",
                                      json={"phone_numbers": plain[-50:], "customer_reference": "portal"})
                assert started.status_code == 202, started.text
        config = write_config(tmp_path, "c.yaml", "phone_numbers:\n" + "".join(
            f"  - phone_number: '{n}'\n    tags: [waited]\n" for n in plain[:3]))
        applied = account.run("apply", str(config), "--auto-approve")
        assert applied.exit_code == 0, applied.output
        assert any(r.status == 422 and r.path == f"{JOBS}/update_phone_numbers" for r in account.sandbox.requests)
        stored = {n["phone_number"]: n for n in numbers(account)}
        assert all(stored[n].get("tags") == ["waited"] for n in plain[:3])
