"""Every kind in the registry through the loops a team runs: the real CLI against the sandbox, on a copy
of examples/config and an account seeded from examples/sandbox-seed.yaml.

- plan, apply, plan again: nothing is left to do for the kind;
- a change made in the account the way a person would make it (the kind's recipe in DRIFT) is reported by
  `drift` and undone by `apply`;
- the export, planned, changes nothing of the kind (or its header says why an entry is not written: a
  secret's value is never readable).

Every policy in its registry the same way: what reaches the account for it (its recipe in ARRIVES) is
decided by `drift` and answered by `apply`.

A new kind is covered by adding it to the registry, to examples/config (and the seed, when the account
must hold it first) and a recipe to DRIFT; a new policy by its registry line, an example and a recipe in
ARRIVES. One without a recipe or without an example fails here, with a message that says what to add.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import telnyx
from support import API_KEY, EXAMPLES, Account, example_variable_names

from reconciler.config import DesiredState, load_desired
from reconciler.kinds import KINDS, Entry
from reconciler.policies import POLICIES


@dataclass
class Portal:
    """What a person has at hand in the portal: the account (through the official SDK), the sandbox that
    serves it (for what reaches the account from outside, such as another carrier's port-out request),
    and the config, to know what to change."""

    sdk: telnyx.Telnyx
    account: Account
    desired: DesiredState

    def entries(self, kind: str) -> list[Any]:
        return list(self.desired.entries[kind])

    def section(self, policy: str) -> Any:
        return self.desired.policies[policy]


def one(items: Iterable[Any], **wanted: Any) -> Any:
    """The live item whose fields have the wanted values."""
    found = [item for item in items if all(getattr(item, k, None) == v for k, v in wanted.items())]
    assert len(found) == 1, f"expected one live item with {wanted}, found {len(found)}"
    return found[0]


def rename_billing_group(portal: Portal) -> None:
    name = portal.entries("billing_groups")[0].name
    group = one(portal.sdk.billing_groups.list(), name=name)
    portal.sdk.billing_groups.update(group.id, name=f"{name} (renamed)")


def delete_access_ip(portal: Portal) -> None:
    address = portal.entries("access_ips")[0].ip_address
    portal.sdk.access_ip_address.delete(one(portal.sdk.access_ip_address.list(), ip_address=str(address)).id)


def delete_an_unused_address(portal: Portal) -> None:
    """An address that is some number's emergency address cannot be deleted, so one no number uses."""
    used = {n.emergency.address for n in portal.entries("phone_numbers") if n.emergency}
    name = next(a.name for a in portal.entries("addresses") if a.name not in used)
    portal.sdk.addresses.delete(one(portal.sdk.addresses.list(), customer_reference=name).id)


def rename_sso_provider(portal: Portal) -> None:
    short_name = portal.entries("sso_providers")[0].short_name
    provider = one(portal.sdk.authentication_providers.list(), short_name=short_name)
    portal.sdk.authentication_providers.update(provider.id, name="Renamed in the portal")


def retag_phone_number(portal: Portal) -> None:
    number = next(n.phone_number for n in portal.entries("phone_numbers") if n.tags is not None)
    portal.sdk.phone_numbers.update(one(portal.sdk.phone_numbers.list(), phone_number=number).id, tags=["changed-by-hand"])


def retag_mobile_number(portal: Portal) -> None:
    number = next(n.phone_number for n in portal.entries("mobile_phone_numbers") if n.tags is not None)
    live = one(portal.sdk.mobile_phone_numbers.list(), phone_number=number)
    portal.sdk.mobile_phone_numbers.update(live.id, tags=["changed-by-hand"])


def recreate_secret(portal: Portal) -> None:
    """Secrets have no update: a person deletes one and creates it again with a value of their own."""
    secret = portal.entries("integration_secrets")[0]
    portal.sdk.integration_secrets.delete(one(portal.sdk.integration_secrets.list(), identifier=secret.identifier).id)
    values = {"token": "set-in-the-portal-1"} if secret.type == "bearer" else {"username": "portal-1", "password": "portal-2"}
    portal.sdk.integration_secrets.create(identifier=secret.identifier, type=secret.type, **values)


def port_out_arrives(portal: Portal) -> None:
    """Another carrier asks for a number the policy's first rule decides (requests come from outside
    the account, so the sandbox adds it, as the demo does)."""
    rule = portal.section("portout_policy").rules[0]
    tag = (rule.conditions.tags or [])[0]
    number = next(n["phone_number"] for n in portal.account.sandbox.state.all("phone_numbers") if tag in (n.get("tags") or []))
    portal.account.sandbox.add("portouts", {"phone_numbers": [number], "carrier_name": "Rival Mobile", "spid": "987H",
                                            "support_key": "CONTRACT-1"})


DRIFT: dict[str, Callable[[Portal], None]] = {
    "billing_groups": rename_billing_group,
    "access_ips": delete_access_ip,
    "addresses": delete_an_unused_address,
    "sso_providers": rename_sso_provider,
    "phone_numbers": retag_phone_number,
    "mobile_phone_numbers": retag_mobile_number,
    "integration_secrets": recreate_secret,
}
# What reaches the account for a policy to decide about, by policy (reconciler.policies.POLICIES).
ARRIVES: dict[str, Callable[[Portal], None]] = {
    "portout_policy": port_out_arrives,
}


def without_secrets(text: str) -> str:
    """The text, after checking it shows no value of the example secrets (the fixture sets them)."""
    shown = [name for name in example_variable_names() if os.environ[name] in text]
    assert not shown, f"the value of {shown} was shown"
    return text


def changed(account: Account, command: str, config: Path | str, kind: str, code: int) -> list[str]:
    """The changes a `plan` or `drift` (as JSON) holds for `kind`, after checking its exit code."""
    result = account.run(command, str(config), "--format", "json", *(["--detailed-exitcode"] if command == "plan" else []))
    assert result.exit_code == code, result.output
    without_secrets(result.output)
    return [f"{c['action']} {c['key']}" for c in json.loads(result.stdout)["changes"] if c["kind"] == kind]


def applied(account: Account, config: Path) -> None:
    result = account.run("apply", str(config), "--auto-approve")
    assert result.exit_code == 0, result.output
    without_secrets(result.output)


def example_of(kind: str, config: Path) -> DesiredState:
    """The config, which must hold an example of the kind."""
    desired = load_desired([str(config)])
    entries: list[Entry] = desired.entries[kind]
    assert entries, f"examples/config has no {kind}: add an example of it (and to examples/sandbox-seed.yaml if the account must hold it)"
    return desired


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A copy of the examples: an apply writes its state file beside the config."""
    return Path(shutil.copytree(EXAMPLES / "config", tmp_path / "config"))


@pytest.mark.parametrize("kind", list(KINDS))
def test_plan_apply_plan_leaves_nothing_to_do(kind: str, account: Account, config: Path) -> None:
    example_of(kind, config)
    first = changed(account, "plan", config, kind, 2)
    assert first, f"examples/config changes no {kind} in the seeded account: make an entry differ from examples/sandbox-seed.yaml"
    applied(account, config)
    assert changed(account, "plan", config, kind, 0) == []


@pytest.mark.parametrize("kind", list(KINDS))
def test_drift_made_in_the_portal_is_reported_and_undone(kind: str, account: Account, config: Path) -> None:
    assert kind in DRIFT, f"{kind} has no drift recipe: add to DRIFT in {Path(__file__).name} how a person changes it in the account"
    desired = example_of(kind, config)
    applied(account, config)
    DRIFT[kind](Portal(telnyx.Telnyx(api_key=API_KEY, base_url=account.url, max_retries=0), account, desired))
    assert changed(account, "drift", config, kind, 2), f"drift did not report what {DRIFT[kind].__name__} changed"
    applied(account, config)
    assert changed(account, "drift", config, kind, 0) == []


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_export_plans_clean(kind: str, account: Account, config: Path, tmp_path: Path) -> None:
    desired = example_of(kind, config)
    applied(account, config)
    exported = tmp_path / "exported.yaml"
    assert account.run("export", "--out", str(exported)).exit_code == 0
    assert changed(account, "plan", exported, kind, 0) == []
    written = {KINDS[kind].key_of(e) for e in load_desired([str(exported)], {}).entries[kind]}
    header = "".join(line for line in without_secrets(exported.read_text()).splitlines() if line.startswith("#"))
    for key in (KINDS[kind].key_of(e) for e in desired.entries[kind]):
        assert key in written or f"{kind}[{key}]" in header, f"export neither wrote {kind}[{key}] nor said why not"



@pytest.mark.parametrize("policy", list(POLICIES))
def test_what_a_policy_decides_is_answered_by_apply(policy: str, account: Account, config: Path) -> None:
    assert policy in ARRIVES, f"{policy} has no recipe: add to ARRIVES in {Path(__file__).name} what reaches the account for it"
    desired = load_desired([str(config)])
    assert policy in desired.policies, f"examples/config sets no {policy}: add an example of it"
    applied(account, config)
    ARRIVES[policy](Portal(telnyx.Telnyx(api_key=API_KEY, base_url=account.url, max_retries=0), account, desired))
    assert changed(account, "drift", config, policy, 2), f"{policy} decided nothing about what {ARRIVES[policy].__name__} brought"
    applied(account, config)
    assert changed(account, "drift", config, policy, 0) == []
