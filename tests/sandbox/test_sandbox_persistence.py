"""State files and seeds: a sandbox restarted on the same file sees the same account."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sandbox_support import ADDRESS, PROVIDER, Clock, client_for

from reconciler.sandbox import Sandbox, SeedError, StateError, generate_account, load_seed

FULL_GROUP = {
    "id": "f5586561-8ff0-4291-a0ac-84fe544797bd",
    "name": "My billing group name",
    "organization_id": "f1486bae-f067-460c-ad43-73a92848f902",
    "record_type": "billing_group",
    "created_at": "2019-10-15T10:07:15.527Z",
    "updated_at": "2019-10-15T10:07:15.527Z",
    "deleted_at": None,
}


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    first = Sandbox(state_path=path, clock=Clock())
    with client_for(first) as client:
        group = client.post("/billing_groups", json={"name": "Ops"}).json()["data"]
        address = client.post("/addresses", json=ADDRESS).json()["data"]
        client.post("/authentication_providers", json=PROVIDER)
        ip = client.post("/access_ip_address", json={"ip_address": "192.0.2.10"}).json()
        client.delete(f"/access_ip_address/{ip['id']}")
    first.state.mark_in_use("addresses", address["id"], by="phone_numbers/1")

    second = Sandbox(state_path=path, clock=Clock())
    with client_for(second) as client:
        assert client.get(f"/billing_groups/{group['id']}").json()["data"] == group
        assert client.get("/access_ip_address").json()["data"] == []
        assert client.get("/authentication_providers").json()["meta"]["total_results"] == 1
        assert client.delete(f"/addresses/{address['id']}").status_code == 422  # still in use
        new = client.post("/billing_groups", json={"name": "Later"}).json()["data"]
    assert second.state.organization_id == first.state.organization_id
    assert new["id"] not in {group["id"], address["id"], ip["id"]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "state.json.journal"]  # no temp files


def test_seed_fills_ids_timestamps_and_defaults() -> None:
    sandbox = Sandbox(clock=Clock(), seed={
        "billing_groups": [{"name": "Ops"}],
        "access_ips": [{"ip_address": "198.51.100.20", "description": "office"}],
        "addresses": [ADDRESS],
        "sso_providers": [PROVIDER],
    })
    group = sandbox.state.all("billing_groups")[0]
    assert group["id"] and group["created_at"] == "2024-05-01T12:00:00.000Z" and group["deleted_at"] is None
    address = sandbox.state.all("addresses")[0]
    assert address["id"].isdigit() and address["address_book"] is True and address["record_type"] == "address"
    ip = sandbox.state.all("access_ips")[0]
    assert ip["status"] == "pending" and ip["user_id"] == sandbox.state.user_id
    provider = sandbox.state.all("sso_providers")[0]
    assert provider["settings"]["idp_cert_fingerprint_algorithm"] == "sha1" and provider["active"] is True


def test_seed_accepts_fully_specified_resources() -> None:
    sandbox = Sandbox(seed={"billing_groups": [FULL_GROUP]})
    with client_for(sandbox) as client:
        assert client.get(f"/billing_groups/{FULL_GROUP['id']}").json()["data"] == FULL_GROUP


def test_seed_is_ignored_when_the_state_file_exists(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    Sandbox(state_path=path, seed={"billing_groups": [{"name": "Ops"}]})
    again = Sandbox(state_path=path, seed={"billing_groups": [{"name": "Ops"}]})
    assert [g["name"] for g in again.state.all("billing_groups")] == ["Ops"]


def test_ids_are_reproducible_for_a_random_seed() -> None:
    def ids(seed: int) -> list[str]:
        sandbox = Sandbox(random_seed=seed, seed={"billing_groups": [{"name": "a"}, {"name": "b"}]})
        return [g["id"] for g in sandbox.state.all("billing_groups")]

    assert ids(7) == ids(7)
    assert ids(7) != ids(8)


@pytest.mark.parametrize(("seed", "message"), [
    ({"porting_orders": [{}]}, "unknown seed collection 'porting_orders'"),
    ({"phone_number_jobs": [{}]}, "'phone_number_jobs' cannot be seeded"),
    ({"phone_numbers": [{"phone_number": "3125550001"}]}, "phone_numbers[0]: 422: 10016"),
    ({"phone_numbers": [{"phone_number": "+13125550001", "colour": "red"}]}, "unknown phone number field(s): colour"),
    ({"phone_numbers": [{"phone_number": "+13125550001", "billing_group_id": "nope"}]}, "Billing group 'nope'"),
    ({"phone_numbers": [{"phone_number": "+13125550001"}, {"phone_number": "+13125550001"}]}, "already exists"),
    ({"phone_numbers": [{"phone_number": "+13125550001", "tags": "sales"}]}, "tags: 'sales' is not a list of strings"),
    ({"billing_groups": {"name": "x"}}, "must be a list"),
    ({"access_ips": [{"ip_address": "nope"}]}, "access_ips[0]"),
    ({"access_ips": [{"ip_address": "10.0.0.1"}, {"ip_address": "10.0.0.1"}]}, "access_ips[1]"),
    ({"billing_groups": [{"name": 42}]}, "billing_groups[0]: name: 42 is not of type 'string'"),
    ({"billing_groups": [FULL_GROUP, FULL_GROUP]}, "already exists"),
])
def test_bad_seeds_are_refused_and_nothing_is_written(tmp_path: Path, seed: dict, message: str) -> None:
    path = tmp_path / "state.json"
    with pytest.raises(SeedError, match=re.escape(message)):
        Sandbox(state_path=path, seed=seed)
    assert not path.exists()


def test_load_seed_reads_yaml_and_json(tmp_path: Path) -> None:
    yaml_file = tmp_path / "seed.yaml"
    yaml_file.write_text("billing_groups:\n  - name: Ops\n    created_at: 2020-01-02T03:04:05Z\n"
                         "access_ips:\n  - ip_address: 203.0.113.9\n")
    json_file = tmp_path / "seed.json"
    json_file.write_text(json.dumps({"addresses": [ADDRESS]}))
    loaded = load_seed(yaml_file)
    assert loaded["billing_groups"] == [{"name": "Ops", "created_at": "2020-01-02T03:04:05.000Z"}]
    assert load_seed(json_file) == {"addresses": [ADDRESS]}
    sandbox = Sandbox(seed={**loaded, **load_seed(json_file)})
    assert sandbox.state.all("billing_groups")[0]["created_at"] == "2020-01-02T03:04:05.000Z"


def test_unreadable_files_are_reported(tmp_path: Path) -> None:
    broken = tmp_path / "state.json"
    broken.write_text("{not json")
    with pytest.raises(StateError):
        Sandbox(state_path=broken)
    with pytest.raises(SeedError):
        load_seed(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(SeedError):
        load_seed(tmp_path / "list.yaml")


# -- large accounts: snapshot plus journal ---------------------------------------------------

def _patch_tags(sandbox: Sandbox, ident: str, tags: list[str]) -> None:
    with client_for(sandbox) as client:
        response = client.patch(f"/phone_numbers/{ident}", json={"tags": tags})
        assert response.status_code == 200, response.text


def _active_ids(sandbox: Sandbox, count: int) -> list[str]:
    return [n["id"] for n in sandbox.state.all("phone_numbers") if n.get("status", "active") == "active"][:count]


def test_a_large_account_journals_changes_instead_of_rewriting_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    journal = tmp_path / "state.json.journal"
    first = Sandbox(state_path=path, seed=generate_account(300, mobile=2), journal_threshold=100, clock=Clock())
    snapshot = path.read_bytes()
    assert b"\n" not in snapshot.strip() and not journal.exists()  # large: written compact, once
    [one, two] = _active_ids(first, 2)
    _patch_tags(first, one, ["journalled"])
    _patch_tags(first, two, ["also"])
    assert path.read_bytes() == snapshot  # the snapshot was not rewritten
    assert len(journal.read_text().splitlines()) == 3  # generation header + two changes

    second = Sandbox(state_path=path, journal_threshold=100, clock=Clock())  # the first was never closed
    assert (second.state.get("phone_numbers", one) or {})["tags"] == ["journalled"]
    assert (second.state.get("phone_numbers", two) or {})["tags"] == ["also"]
    assert second.state.count("phone_numbers") == 300 and second.state.count("mobile_phone_numbers") == 2
    second.close()
    assert not journal.exists() and path.read_bytes() != snapshot
    third = Sandbox(state_path=path, journal_threshold=100)
    assert (third.state.get("phone_numbers", one) or {})["tags"] == ["journalled"]
    assert third.state.lookup("phone_numbers", "phone_number", (third.state.get("phone_numbers", one) or {})[
        "phone_number"]) == one


def test_a_small_account_journals_changes_too(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    journal = tmp_path / "state.json.journal"
    first = Sandbox(state_path=path, seed=generate_account(20), clock=Clock())
    snapshot = path.read_bytes()
    assert b"\n" in snapshot.strip()  # small: indented for people
    idents = _active_ids(first, 3)
    for ident in idents:
        _patch_tags(first, ident, ["journalled"])
    assert path.read_bytes() == snapshot  # each change costs one appended line, not a rewrite
    assert len(journal.read_text().splitlines()) == 1 + len(idents)
    second = Sandbox(state_path=path, clock=Clock())  # the first was never closed
    assert all((second.state.get("phone_numbers", i) or {})["tags"] == ["journalled"] for i in idents)


def test_the_journal_is_folded_in_when_it_grows(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    journal = tmp_path / "state.json.journal"
    sandbox = Sandbox(state_path=path, seed=generate_account(300), journal_threshold=50)
    ident = _active_ids(sandbox, 1)[0]
    lengths = []
    for i in range(120):
        _patch_tags(sandbox, ident, [f"t{i}"])
        lengths.append(len(journal.read_text().splitlines()) if journal.exists() else 0)
    assert max(lengths) <= 76 and lengths.count(0) >= 1  # compacted past max(50, 307 // 4) entries
    assert (Sandbox(state_path=path).state.get("phone_numbers", ident) or {})["tags"] == ["t119"]


def test_a_torn_or_stale_journal_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    journal = tmp_path / "state.json.journal"
    sandbox = Sandbox(state_path=path, seed=generate_account(300), journal_threshold=100)
    [one, two] = _active_ids(sandbox, 2)
    _patch_tags(sandbox, one, ["kept"])
    with journal.open("a") as handle:
        handle.write('{"put": "phone_numbers", "record": {"id": "')  # the process died mid-write
    restored = Sandbox(state_path=path, journal_threshold=100)
    assert (restored.state.get("phone_numbers", one) or {})["tags"] == ["kept"]
    _patch_tags(restored, two, ["after"])  # appends after a torn line are still read
    assert (Sandbox(state_path=path).state.get("phone_numbers", two) or {})["tags"] == ["after"]

    restored.close()
    journal.write_text('{"generation": 0}\n{"del": "phone_numbers", "id": "%s", "counter": 0}\n' % one)
    assert Sandbox(state_path=path).state.get("phone_numbers", one) is not None  # older generation: ignored


def test_a_pending_job_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    clock = Clock()
    first = Sandbox(state_path=path, seed=generate_account(20), clock=clock, job_seconds=30)
    ident = _active_ids(first, 1)[0]
    with client_for(first) as client:
        job = client.post("/phone_numbers/jobs/update_phone_numbers",
                          json={"phone_numbers": [ident], "tags": ["later"]}).json()["data"]
    clock.advance(60)
    second = Sandbox(state_path=path, clock=clock, job_seconds=30)
    with client_for(second) as client:
        done = client.get(f"/phone_numbers/jobs/{job['id']}").json()["data"]
        assert done["status"] == "completed"
        assert client.get(f"/phone_numbers/{ident}").json()["data"]["tags"] == ["later"]
