"""Policies are a family of their own: the registry in reconciler/policies drives them through validate,
plan, apply and drift, and the kinds' registry and interface know nothing of them.

A test-only policy, registered in a fixture, reads the billing groups, decides to capitalise the names
written in lower case (a change) and leaves names holding a digit to a person (an Attention); the real CLI
runs it against the sandbox.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from support import API_KEY, Account, served, write_config

from reconciler.api import Api
from reconciler.errors import PartialFailure, ReconcilerError
from reconciler.kinds import KINDS
from reconciler.kinds.base import ApplyContext, Kind
from reconciler.plan import Action, Attention, Change, FieldChange, Step
from reconciler.policies import POLICIES, Decisions, Policy
from reconciler.policies.portout import PortoutAnswers
from reconciler.sandbox import Sandbox
from reconciler.states import LiveResource

GROUPS = "/billing_groups"


class TidySection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    leave_alone: list[str] = []


class TidyNames(Policy[TidySection]):
    """Billing group names in lower case are capitalised; a name holding a digit waits for a person."""

    name = "tidy_names"
    title = "billing group name"
    model = TidySection
    applied: list[str]

    def __init__(self) -> None:
        self.applied = []

    def fetch(self, api: Api, section: TidySection) -> list[LiveResource]:
        return [LiveResource(raw["name"], raw["id"], {"name": raw["name"]}) for raw in api.list_all(GROUPS)]

    def decide(self, section: TidySection, live: list[LiveResource]) -> Decisions:
        found = Decisions(notes=[f"tidy_names read {len(live)} billing groups"])
        for group in live:
            if group.key in section.leave_alone:
                continue
            if any(c.isdigit() for c in group.key):
                found.attention.append(Attention(self.name, group.key, "a name with a digit: rename it by hand", None))
            elif group.key.islower():
                after = {"name": group.key.capitalize()}
                found.changes.append(Change(self.name, group.key, Action.UPDATE, {"name": group.key}, after,
                                            (FieldChange("name", group.key, after["name"]),), "capitalise", group.id))
        return found

    def apply(self, api: Api, steps: list[Step], ctx: ApplyContext) -> None:
        for step in steps:
            try:
                api.patch(f"{GROUPS}/{step.change.live_id}", step.change.after or {}, what="renaming")
            except ReconcilerError as exc:
                raise PartialFailure(exc, [(step.change, exc.message)]) from exc
            self.applied.append(step.change.key)
            ctx.step_done(step)

    def warnings(self, section: TidySection) -> list[tuple[tuple[int | str, ...], str]]:
        return [(("leave_alone", i), f"warning: {n!r} is never tidied") for i, n in enumerate(section.leave_alone)]


@pytest.fixture
def tidy(monkeypatch: pytest.MonkeyPatch) -> TidyNames:
    policy = TidyNames()
    monkeypatch.setitem(POLICIES, policy.name, policy)
    return policy


@pytest.fixture
def account() -> Iterator[Account]:
    seed: dict[str, Any] = {"billing_groups": [{"name": "support"}, {"name": "Ops 2"}, {"name": "Finance"}]}
    with served(Sandbox(api_key=API_KEY, seed=seed)) as served_account:
        yield served_account


def _names(account: Account) -> list[str]:
    return sorted(g["name"] for g in account.sandbox.state.all("billing_groups"))


def test_a_registered_policy_decides_and_applies_through_the_engine(tidy: TidyNames, account: Account,
                                                                   tmp_path: Path) -> None:
    config = write_config(tmp_path, "tidy.yaml", "tidy_names:\n  leave_alone: [Finance]\n"
                                                 "reconciler:\n  safety: {update_threshold: 0, min_existing: 0}\n")
    validated = account.run("validate", str(config))
    assert validated.exit_code == 0 and "Valid: 1 resource(s)" in validated.output
    assert f"{config}:2: warning: 'Finance' is never tidied" in validated.output

    planned = json.loads(account.run("plan", str(config), "--format", "json").output)
    assert [(c["kind"], c["key"], c["action"]) for c in planned["changes"]] == [("tidy_names", "support", "update")]
    assert [(a["kind"], a["key"]) for a in planned["attention"]] == [("tidy_names", "Ops 2")]
    assert "tidy_names read 3 billing groups" in planned["notes"]

    # what a policy read is not a kind's resources: no share-of-resources threshold applies to its changes
    applied = account.run("apply", str(config), "--target", "tidy_names", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert tidy.applied == ["support"] and _names(account) == ["Finance", "Ops 2", "Support"]
    drift = account.run("drift", str(config))
    assert drift.exit_code == 2 and "tidy_names[Ops 2]" in drift.output and "~" not in drift.output


def test_a_policy_is_targeted_and_loaded_alone_by_name(tidy: TidyNames, account: Account, tmp_path: Path) -> None:
    config = write_config(tmp_path, "tidy.yaml", "tidy_names: {}\nbilling_groups:\n  - name: ${env:UNSET_HERE}\n")
    targeted = account.run("plan", str(config), "--target", "tidy_names:support", "--format", "json")
    assert targeted.exit_code == 0, targeted.output  # the kinds' entries are not read, so the reference is not either
    document = json.loads(targeted.output)
    assert [c["key"] for c in document["changes"]] == ["support"] and document["attention"] == []


def test_a_section_of_an_unregistered_policy_is_an_unknown_key(account: Account, tmp_path: Path) -> None:
    config = write_config(tmp_path, "tidy.yaml", "tidy_names: {}\n")
    result = account.run("validate", str(config))
    assert result.exit_code == 1 and "unknown top-level key 'tidy_names'" in result.output


def test_the_portout_policy_is_a_policy_and_not_a_kind() -> None:
    assert "portout_policy" not in KINDS
    assert isinstance(POLICIES["portout_policy"], PortoutAnswers)
    assert all(isinstance(p, Policy) and not isinstance(p, Kind) for p in POLICIES.values())
    assert not {name for name in POLICIES} & set(KINDS)


@pytest.mark.parametrize("attribute", ["singleton", "exportable", "thresholds"])
def test_the_kind_interface_has_no_port_out_only_attributes(attribute: str) -> None:
    assert not hasattr(Kind, attribute)
    assert not any(hasattr(kind, attribute) for kind in KINDS.values())


def test_every_kind_is_keyed_by_a_field_of_its_own_model() -> None:
    for kind in KINDS.values():
        assert kind.key_field in kind.model.model_fields, kind.name
