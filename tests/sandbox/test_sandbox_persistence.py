"""State files and seeds: a sandbox restarted on the same file sees the same account."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sandbox_support import ADDRESS, PROVIDER, Clock, client_for

from reconciler.sandbox import Sandbox, SeedError, StateError, load_seed

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
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temp files left behind


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
    ({"phone_numbers": [{}]}, "unknown seed collection 'phone_numbers'"),
    ({"billing_groups": {"name": "x"}}, "must be a list"),
    ({"access_ips": [{"ip_address": "nope"}]}, "access_ips[0]"),
    ({"access_ips": [{"ip_address": "10.0.0.1"}, {"ip_address": "10.0.0.1"}]}, "access_ips[1]"),
    ({"billing_groups": [{"name": 42}]}, "billing_groups[0]: name: 42 is not of type 'string'"),
    ({"billing_groups": [FULL_GROUP, FULL_GROUP]}, "already exists"),
])
def test_bad_seeds_are_refused_and_nothing_is_written(tmp_path: Path, seed: dict, message: str) -> None:
    path = tmp_path / "state.json"
    with pytest.raises(SeedError, match=message.replace("[", r"\[").replace("]", r"\]")):
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
