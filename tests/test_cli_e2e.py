"""The real CLI against the real sandbox over loopback: the loops a team runs in CI."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import telnyx
from support import API_KEY, EXAMPLES, Account, write_config

from reconciler.config import load_desired
from reconciler.kinds import KINDS
from reconciler.sandbox import Sandbox, generate_account

CONFIG = str(EXAMPLES / "config")


def copy_examples(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(EXAMPLES / "config", target)
    return target


@pytest.fixture(autouse=True)
def _examples_elsewhere(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test plans and applies a copy of the examples, so the state file an apply writes stays out of
    the repository."""
    monkeypatch.setattr(sys.modules[__name__], "CONFIG", str(copy_examples(tmp_path_factory.mktemp("examples"))))


def test_plan_apply_plan_converges_for_every_kind(account: Account) -> None:
    first = account.run("plan", CONFIG, "--detailed-exitcode")
    assert first.exit_code == 2, first.output
    for line in ("+ access_ips[2001:db8::20]", "-/+ access_ips[203.0.113.10]", "+/- addresses[hq]",
                 "+ billing_groups[Support]", "+ sso_providers[example-okta]", "- billing_groups[Marketing]",
                 "~ phone_numbers[+13125550104]"):
        assert line in first.stdout
    assert account.writes() == []

    planned = account.planned(CONFIG)
    applied = account.run("apply", CONFIG, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert f"Apply complete: {planned} change(s) applied." in applied.stdout

    again = account.run("plan", CONFIG, "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes" in again.stdout
    names = sorted(r["name"] for r in account.sandbox.state.all("billing_groups"))
    assert names == ["Engineering", "Support"]
    # the unowned address (no customer_reference) was left alone
    assert any(a.get("customer_reference") in (None, "") for a in account.sandbox.state.all("addresses"))


def test_drift_from_another_client_is_reported_and_undone(account: Account) -> None:
    assert account.run("apply", CONFIG, "--auto-approve").exit_code == 0
    sdk = telnyx.Telnyx(api_key=API_KEY, base_url=account.url, max_retries=0)
    provider = next(iter(sdk.authentication_providers.list()))
    sdk.authentication_providers.update(provider.id, name="Changed by hand")
    sdk.billing_groups.create(name="Shadow IT")

    drift = account.run("drift", CONFIG)
    assert drift.exit_code == 2, drift.output
    assert 'name: "Changed by hand" -> "Okta"' in drift.stdout
    assert "- billing_groups[Shadow IT]  (unmanaged" in drift.stdout

    report = json.loads(account.run("drift", CONFIG, "--format", "json").stdout)
    assert report["kind"] == "drift" and report["summary"] == {"create": 0, "update": 1, "replace": 0, "delete": 1}

    assert account.run("apply", CONFIG, "--auto-approve").exit_code == 0
    assert account.run("drift", CONFIG).exit_code == 0


def test_export_then_plan_shows_no_changes(account: Account, tmp_path: Path) -> None:
    assert account.run("apply", CONFIG, "--auto-approve").exit_code == 0
    exported = tmp_path / "exported.yaml"
    result = account.run("export", "--out", str(exported))
    assert result.exit_code == 0, result.output
    text = exported.read_text()
    assert "short_name: example-okta" in text and "Grace" not in text  # unowned address not exported
    plan = account.run("plan", str(exported), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output


# Where each seeded collection keeps the key its kind matches by (an address's name is its customer_reference).
SEED_KEYS = {"billing_groups": "name", "access_ips": "ip_address", "addresses": "customer_reference",
             "phone_numbers": "phone_number", "mobile_phone_numbers": "phone_number"}


def test_export_of_an_untouched_account_adopts_it(account: Account, tmp_path: Path, seed: dict) -> None:
    exported = tmp_path / "adopt.yaml"
    assert account.run("export", "--out", str(exported)).exit_code == 0
    assert account.run("plan", str(exported), "--detailed-exitcode").exit_code == 0
    desired = load_desired([str(exported)], {})
    keys = {name: sorted(KINDS[name].key_of(e) for e in entries) for name, entries in desired.entries.items() if entries}
    # every owned resource of the seed, and only those (Grace's address has no reference)
    owned = {name: sorted(r[field] for r in seed[name] if r.get(field)) for name, field in SEED_KEYS.items()}
    assert keys == owned and "Grace" not in exported.read_text()
    assert set(seed) - set(SEED_KEYS) == set(), "a seeded collection this test does not know of"
    assert desired.entries["access_ips"][0].description == "Old office VPN"


def test_json_and_markdown_plans(account: Account) -> None:
    document = json.loads(account.run("plan", CONFIG, "--format", "json").stdout)
    assert document["format"] == "telnyx-reconciler/plan" and document["format_version"] == 2
    replace = next(c for c in document["changes"] if c["kind"] == "addresses")
    assert replace["action"] == "create-before-delete"
    assert replace["changed_fields"] == [{"path": "extended_address", "before": "Floor 12", "after": "Floor 14"}]
    markdown = account.run("plan", CONFIG, "--format", "markdown").stdout
    assert markdown.startswith("### Telnyx plan") and "| `+/-` | `addresses[hq]` | create-before-delete |" in markdown


def test_a_saved_plan_applies_exactly_and_a_stale_one_is_refused(account: Account, tmp_path: Path) -> None:
    planfile = tmp_path / "reviewed.plan"
    assert account.run("plan", CONFIG, "--out", str(planfile)).exit_code == 0
    assert API_KEY not in planfile.read_text()

    # someone changes the account after the review: the saved plan must not run
    sdk = telnyx.Telnyx(api_key=API_KEY, base_url=account.url, max_retries=0)
    sdk.billing_groups.create(name="Late arrival")
    writes_before = len(account.writes())
    stale = account.run("apply", str(planfile))
    assert stale.exit_code == 1
    assert "no longer matches" in stale.stderr and "billing_groups[Late arrival]" in stale.stderr
    assert len(account.writes()) == writes_before

    assert account.run("plan", CONFIG, "--out", str(planfile)).exit_code == 0
    applied = account.run("apply", str(planfile))
    assert applied.exit_code == 0, applied.output
    assert account.run("plan", CONFIG, "--detailed-exitcode").exit_code == 0


def test_apply_without_a_terminal_asks_for_auto_approve(account: Account) -> None:
    result = account.run("apply", CONFIG)
    assert result.exit_code == 1 and "--auto-approve" in result.stderr
    assert account.writes() == []


def test_a_target_limits_what_apply_changes(account: Account) -> None:
    result = account.run("apply", CONFIG, "--auto-approve", "--target", "billing_groups:Support")
    assert result.exit_code == 0
    assert account.writes() == ["POST /v2/billing_groups"]


def test_too_many_deletes_are_refused_unless_forced(account: Account, tmp_path: Path) -> None:
    sdk = telnyx.Telnyx(api_key=API_KEY, base_url=account.url, max_retries=0)
    for i in range(10):
        sdk.billing_groups.create(name=f"team-{i}")
    config = write_config(tmp_path, "c.yaml", "reconciler:\n  prune: [billing_groups]\nbilling_groups:\n  - name: Engineering\n")
    refused = account.run("apply", str(config), "--auto-approve")
    assert refused.exit_code == 1 and "11 of 12 would be deleted" in refused.stderr
    assert account.writes().count("DELETE /v2/billing_groups") == 0
    forced = account.run("apply", str(config), "--auto-approve", "--force")
    assert forced.exit_code == 0, forced.output
    assert [g["name"] for g in account.sandbox.state.all("billing_groups") if not g.get("deleted_at")] == ["Engineering"]


def test_prevent_destroy_blocks_a_replace(account: Account, tmp_path: Path) -> None:
    config = write_config(
        tmp_path, "c.yaml",
        "access_ips:\n  - ip_address: 203.0.113.10\n    description: new words\n    replace: true\n    prevent_destroy: true\n",
    )
    result = account.run("apply", str(config), "--auto-approve", "--force")
    assert result.exit_code == 1 and "prevent_destroy" in result.stderr
    assert account.writes() == []


def test_an_apply_that_fails_part_way_reports_and_then_converges(account: Account) -> None:
    # the old address is in use (as by a phone number's emergency settings), so deleting it fails
    old = next(a for a in account.sandbox.state.all("addresses") if a.get("customer_reference") == "hq")
    account.sandbox.state.mark_in_use("addresses", old["id"], by="phone-number-1")
    failed = account.run("apply", CONFIG, "--auto-approve")
    assert failed.exit_code == 1
    assert "apply stopped at addresses[hq]" in failed.stderr
    assert "applied:     + billing_groups[Support]" in failed.stderr
    assert "failed:      +/- addresses[hq]: deleting address" in failed.stderr
    assert "Resource in use" in failed.stderr or "in use" in failed.stderr

    account.sandbox.state.release("addresses", old["id"])
    # the old hq is the leftover of the tool's own replace, as its state file records: the next plan deletes
    # it although addresses are not pruned, and one more apply converges
    left = account.run("plan", CONFIG)
    assert "- addresses[hq]" in left.stdout and "Plan: 0 to create, 0 to update, 0 to replace, 1 to delete." in left.stdout
    assert "leftover of an interrupted replace" in left.stdout
    assert account.run("apply", CONFIG, "--auto-approve").exit_code == 0
    assert old["id"] not in {a["id"] for a in account.sandbox.state.all("addresses") if not a.get("deleted_at")}
    assert account.run("plan", CONFIG, "--detailed-exitcode").exit_code == 0


def test_a_wrong_api_key_is_a_clear_error(account: Account) -> None:
    result = account.run("plan", CONFIG, env={"TELNYX_API_KEY": "wrong-key"})
    assert result.exit_code == 1
    assert "HTTP 401" in result.stderr and "TELNYX_API_KEY" in result.stderr
    assert "Traceback" not in result.output and "wrong-key" not in result.output


def test_the_key_is_never_sent_over_plain_http_to_a_remote_host(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from reconciler.cli import cli

    result = CliRunner().invoke(
        cli, ["--base-url", "http://api.example.com/v2", "plan", CONFIG], env={"TELNYX_API_KEY": API_KEY}
    )
    assert result.exit_code == 1 and "refusing to send the API key" in result.stderr


def served(seed: dict, **options: float) -> tuple[Sandbox, Account]:
    sandbox = Sandbox(api_key=API_KEY, seed=seed, **options)  # type: ignore[arg-type]
    return sandbox, Account(sandbox, "")


def test_apply_converges_through_lost_answers_without_duplicates(seed: dict) -> None:
    # 25% of requests fail with 5xx; on writes, half of those fail after the change was made
    sandbox, account = served(seed, fail_rate=0.25, random_seed=7)
    with sandbox.serve() as url:
        account.url = url
        for _ in range(3):
            if account.run("apply", CONFIG, "--auto-approve").exit_code == 0:
                break
        again = account.plan_through_faults(CONFIG)
        assert again.exit_code == 0, again.output
    assert any(r.status >= 500 for r in sandbox.requests)
    for collection, key in (("billing_groups", "name"), ("access_ips", "ip_address"), ("sso_providers", "short_name")):
        keys = [r[key] for r in sandbox.state.all(collection) if not r.get("deleted_at")]
        assert len(keys) == len(set(keys)), f"duplicate {collection}: {keys}"
    owned = [a["customer_reference"] for a in sandbox.state.all("addresses") if a.get("customer_reference")]
    assert sorted(owned) == sorted(a.name for a in load_desired([CONFIG]).entries["addresses"])  # each once


def test_plan_and_apply_succeed_under_the_rate_limit(seed: dict) -> None:
    sandbox, account = served(seed, rate_limit=10)
    with sandbox.serve() as url:
        account.url = url
        for _ in range(3):
            assert account.run("plan", CONFIG).exit_code == 0
        result = account.run("apply", CONFIG, "--auto-approve")
        assert result.exit_code == 0, result.output
        assert account.run("plan", CONFIG, "--detailed-exitcode").exit_code == 0


def test_the_client_keeps_to_the_rate_limit_window_when_reading_many_pages(tmp_path: Path) -> None:
    # 1,500 numbers: export and plan read pages concurrently, several times the 10 requests a second allowed
    sandbox = Sandbox(api_key=API_KEY, seed=generate_account(1500, seed=3), rate_limit=10)
    exported = tmp_path / "account.yaml"
    with sandbox.serve() as url:
        account = Account(sandbox, url)
        assert account.run("export", "--out", str(exported)).exit_code == 0
        assert account.run("plan", str(exported), "--detailed-exitcode").exit_code == 0
    limited = [r for r in sandbox.requests if r.status == 429]
    # Without pacing about 17 of some 55 requests hit the limit here; the client spends the window the
    # answers describe, so only what was already in flight when it ran out can (at most one slot-full).
    assert len(limited) <= 8, f"{len(limited)} of {len(sandbox.requests)} requests hit the limit"
