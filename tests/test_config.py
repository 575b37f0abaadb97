"""Config loading: each bad input is one clear issue naming file, line and what to do; good input merges."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import load_desired
from reconciler.errors import ConfigError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def issues_of(*paths: Path, env: dict[str, str] | None = None) -> list:
    with pytest.raises(ConfigError) as caught:
        load_desired([str(p) for p in paths], env or {})
    return caught.value.issues


def test_a_valid_directory_merges_every_file(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "billing_groups:\n  - name: Ops\n")
    write(tmp_path, "b.yml", "access_ips:\n  - ip_address: 203.0.113.7\n")
    desired = load_desired([str(tmp_path)], {})
    assert [e.name for e in desired.entries["billing_groups"]] == ["Ops"]
    assert [e.ip_address for e in desired.entries["access_ips"]] == ["203.0.113.7"]
    assert len(desired.files) == 2


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "billing_groups:\n  - name: Ops\n  - name: [unclosed\n")
    [issue] = issues_of(path)
    assert issue.file == str(path) and issue.line is not None and issue.line >= 3
    assert "invalid YAML" in issue.message


def test_a_typo_in_a_field_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "access_ips:\n  - ip_address: 203.0.113.7\n    descripton: VPN\n")
    [issue] = issues_of(path)
    assert (issue.line, issue.message) == (3, "unknown field 'descripton'")
    assert "description" in issue.hint


def test_an_unknown_kind_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "billing_group:\n  - name: Ops\n")
    [issue] = issues_of(path)
    assert issue.line == 1 and "unknown top-level key" in issue.message and "billing_groups" in issue.hint


def test_a_wrong_type_names_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "sso_providers:\n  - short_name: okta\n    name: Okta\n    active: maybe\n")
    [issue] = issues_of(path)
    assert issue.line == 4 and issue.message.startswith("active:")


def test_a_missing_required_field_points_at_the_entry(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "integration_secrets:\n  - identifier: crm\n    unverified: keep\n")
    issues = issues_of(path)
    assert {i.message for i in issues} >= {"missing required field 'type'"}
    assert all(i.line == 2 for i in issues)


def test_duplicate_mapping_keys_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "billing_groups:\n  - name: Ops\n    name: Dev\n")
    [issue] = issues_of(path)
    assert issue.line == 3 and "duplicate key" in issue.message


def test_a_resource_defined_in_two_files_names_both_places(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", "billing_groups:\n  - name: Ops\n")
    second = write(tmp_path, "b.yaml", "billing_groups:\n  - name: Dev\n  - name: Ops\n")
    [issue] = issues_of(first, second)
    assert issue.file == str(second) and issue.line == 3
    assert f"{first}:2" in issue.message and "defined twice" in issue.message


def test_environment_values_are_substituted_and_an_unset_one_is_named(tmp_path: Path) -> None:
    declared = "reconciler:\n  variables: [TEAM, MISSING_ONE]\n"
    path = write(tmp_path, "c.yaml", declared + "billing_groups:\n  - name: ${env:TEAM}-billing\n  - name: ${env:MISSING_ONE}\n")
    [issue] = issues_of(path, env={"TEAM": "ops"})
    assert issue.line == 5 and "MISSING_ONE is not set" in issue.message
    write(tmp_path, "c.yaml", declared + "billing_groups:\n  - name: ${env:TEAM}-billing\n")
    assert load_desired([str(path)], {"TEAM": "ops"}).entries["billing_groups"][0].name == "ops-billing"


def test_an_invalid_ip_address_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "access_ips:\n  - ip_address: 300.1.2.3\n")
    [issue] = issues_of(path)
    assert issue.line == 2 and "not a valid IPv4 or IPv6 address" in issue.message


def test_ip_addresses_are_compared_in_canonical_form(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "access_ips:\n  - ip_address: 2001:DB8:0:0::20\n")
    assert load_desired([str(path)], {}).entries["access_ips"][0].ip_address == "2001:db8::20"


def test_prune_must_name_known_kinds_and_settings_appear_once(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", "reconciler:\n  prune: [billing_groups, phone_numberz]\n")
    second = write(tmp_path, "b.yaml", "reconciler:\n  prune: []\n")
    issues = issues_of(first, second)
    assert any("phone_numberz" in i.message for i in issues)
    assert any(i.file == str(second) and "also set" in i.message for i in issues)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "billing_groups:\n  - nme: A\n  - name: B\n    extra: 1\n")
    assert len(issues_of(path)) == 3  # unknown nme, missing name, unknown extra


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path / "nope.yaml")
    assert "no such file" in issue.message


def test_defaults_apply_to_every_entry_and_an_entry_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path, "c.yaml",
        "sso_providers:\n  defaults:\n    active: false\n    name: Shared\n  entries:\n"
        "    - short_name: a\n    - short_name: b\n      active: true\n",
    )
    entries = load_desired([str(path)], {}).entries["sso_providers"]
    assert [(e.short_name, e.name, e.active) for e in entries] == [("a", "Shared", False), ("b", "Shared", True)]
    # a default counts as set: it is managed like a value written on the entry
    assert entries[0].managed() == {"short_name": "a", "name": "Shared", "active": False}


def test_a_bad_default_is_reported_at_the_default(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "sso_providers:\n  defaults:\n    active: perhaps\n  entries:\n    - short_name: a\n      name: A\n")
    [issue] = issues_of(path)
    assert issue.line == 3 and issue.message.startswith("active:")


def test_yaml_anchors_can_share_settings(tmp_path: Path) -> None:
    path = write(
        tmp_path, "c.yaml",
        "sso_providers:\n  - &first {short_name: a, name: Shared, active: true}\n  - {<<: *first, short_name: b}\n",
    )
    entries = load_desired([str(path)], {}).entries["sso_providers"]
    assert [(e.short_name, e.name) for e in entries] == [("a", "Shared"), ("b", "Shared")]


@pytest.mark.parametrize("number", ["+1٣١٢٥٥٥٠١٠٠", "+１３１２５５５０１００", "+13125550100\u0660"])
def test_a_number_written_with_digits_other_than_ascii_is_not_e164(tmp_path: Path, number: str) -> None:
    # str.isdigit() accepts Arabic-Indic and full-width digits; the API and E.164 know 0-9 alone.
    issues = issues_of(write(tmp_path, "n.yaml", f"phone_numbers:\n  - phone_number: '{number}'\n"))
    assert [(i.line, "is not in E.164 format" in i.message) for i in issues] == [(2, True)]
