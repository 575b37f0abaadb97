"""A create carries what the API requires: the fields the spec's create request schemas mark required
must be in the entry when the plan creates the resource; an entry may leave them out to adopt one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support import API_KEY, Account, served, write_config

from reconciler.kinds import KINDS
from reconciler.kinds.required import missing
from reconciler.sandbox import Sandbox

SPEC = Path(__file__).resolve().parent.parent / "reconciler" / "sandbox" / "openapi-subset.json"
NO_SETTINGS = "sso_providers:\n  - short_name: acme\n    name: Acme\n    active: true\n"


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"][2:].split("/"):
            node = node[part]
        schema = node
    return schema


def _required(spec: dict[str, Any], schema: dict[str, Any], prefix: str = "") -> list[str]:
    schema = _resolve(spec, schema)
    found = []
    for name in schema.get("required", []):
        found.append(prefix + name)
        inner = _resolve(spec, schema.get("properties", {}).get(name, {}))
        if "required" in inner:
            found.extend(_required(spec, inner, f"{prefix}{name}."))
    return found


def test_every_kind_declares_what_its_create_schema_requires() -> None:
    spec = json.loads(SPEC.read_text())
    wrong = []
    for kind in KINDS.values():
        post = spec["paths"].get(kind.path, {}).get("post")
        derived = tuple(_required(spec, post["requestBody"]["content"]["application/json"]["schema"])) if post else ()
        if kind.create_required != derived:
            wrong.append(f"{kind.name}: create_required = {derived!r}")
    assert not wrong, f"set these in the kinds, as the spec's create schemas say: {wrong}"


def test_a_nested_field_counts_only_when_its_parent_is_given() -> None:
    required = KINDS["sso_providers"].create_required
    assert missing(required, {"name": "A", "short_name": "a"}) == ["settings"]
    partial = {"name": "A", "short_name": "a", "settings": {"idp_entity_id": "https://idp"}}
    assert missing(required, partial) == ["settings.idp_sso_target_url", "settings.idp_cert_fingerprint"]


def test_an_sso_provider_without_settings_stops_the_plan_with_file_and_line(account: Account, tmp_path: Path) -> None:
    path = write_config(tmp_path, "sso.yaml", "billing_groups: []\n" + NO_SETTINGS)
    result = account.run("plan", str(path))
    assert result.exit_code == 1, result.output
    assert f"{path}:3:" in result.stderr and "creating it needs settings" in result.stderr
    assert "Traceback" not in result.output
    assert account.writes() == []


def test_an_existing_provider_is_adopted_by_an_entry_without_settings(tmp_path: Path) -> None:
    settings = {"idp_entity_id": "https://idp.example/saml", "idp_sso_target_url": "https://idp.example/sso",
                "idp_cert_fingerprint": "AA:BB"}
    seed = {"sso_providers": [{"short_name": "acme", "name": "Acme", "active": True, "settings": settings}]}
    with served(Sandbox(api_key=API_KEY, seed=seed)) as account:
        result = account.run("plan", str(write_config(tmp_path, "sso.yaml", NO_SETTINGS)))
        assert result.exit_code == 0, result.output
        assert "No changes" in result.stdout


ADDRESS_SEED = {"customer_reference": "hq", "first_name": "Ada", "last_name": "Lovelace", "business_name": "Example",
                "street_address": "600 Congress Avenue", "locality": "Austin", "country_code": "US"}


def test_an_existing_address_is_adopted_by_its_name_alone(tmp_path: Path) -> None:
    with served(Sandbox(api_key=API_KEY, seed={"addresses": [ADDRESS_SEED]})) as account:
        result = account.run("plan", str(write_config(tmp_path, "a.yaml", "addresses:\n  - name: hq\n")))
    assert result.exit_code == 0 and "No changes" in result.stdout, result.output


def test_a_new_address_needs_every_field_the_create_requires(account: Account, tmp_path: Path) -> None:
    path = write_config(tmp_path, "a.yaml", "addresses:\n  - name: branch\n    locality: Austin\n")
    result = account.run("plan", str(path))
    assert result.exit_code == 1 and f"{path}:2:" in result.stderr
    assert "creating it needs first_name, last_name, business_name, street_address, country_code" in result.stderr
    assert account.writes() == []
