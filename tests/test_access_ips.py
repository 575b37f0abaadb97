"""The API allow-list never locks the tool out: a description alone is noted, not replaced; every delete
says what it cuts off; a plan that deletes every address on the list is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import load_desired
from reconciler.errors import PlanError
from reconciler.kinds import KINDS
from reconciler.pipeline import make_plan
from reconciler.plan import Action
from reconciler.sandbox import Sandbox
from reconciler.states import LiveResource, LiveState
from support import API_KEY, served, write_config

OLD = LiveResource("203.0.113.7", "a1", {"ip_address": "203.0.113.7", "description": "old words"})
OTHER = LiveResource("198.51.100.2", "a2", {"ip_address": "198.51.100.2", "description": "CI"})


def plan_of(tmp_path: Path, text: str, *live: LiveResource):  # type: ignore[no-untyped-def]
    path = write_config(tmp_path, "access.yaml", text)
    return make_plan(load_desired([str(path)], {}), LiveState({"access_ips": list(live)})), path


def test_a_description_alone_is_a_note_with_file_and_line(tmp_path: Path) -> None:
    plan, path = plan_of(tmp_path, "access_ips:\n  - ip_address: 203.0.113.7\n    description: new words\n", OLD)
    assert plan.empty
    assert plan.notes == (f"{path}:2: access_ips[203.0.113.7]: description differs; the API cannot update it; "
                          "set `replace: true` on the entry to replace it",)


def test_replace_true_replaces_and_says_what_the_delete_cuts_off(tmp_path: Path) -> None:
    text = "access_ips:\n  - ip_address: 203.0.113.7\n    description: new words\n    replace: true\n"
    plan, _ = plan_of(tmp_path, text, OLD)
    [change] = plan.changes
    assert change.action is Action.DELETE_BEFORE_CREATE and "deleted first" in change.reason
    assert "cuts off API access for whoever sends requests from it" in change.reason
    assert "replace" not in KINDS["access_ips"].to_api(change.after or {})  # steers the tool; never sent


def test_a_pruned_address_says_what_its_delete_cuts_off(tmp_path: Path) -> None:
    text = "reconciler:\n  prune: [access_ips]\naccess_ips:\n  - ip_address: 198.51.100.2\n    description: CI\n"
    plan, _ = plan_of(tmp_path, text, OLD, OTHER)
    [change] = plan.changes
    assert (change.action, change.key) == (Action.DELETE, "203.0.113.7")
    assert "reconciler.prune" in change.reason and "cuts off API access" in change.reason


def test_pruning_every_address_on_the_list_is_refused(tmp_path: Path) -> None:
    text = "reconciler:\n  prune: [access_ips]\naccess_ips:\n  - ip_address: 192.0.2.1\n"
    with pytest.raises(PlanError, match="would delete every address on the API allow-list"):
        plan_of(tmp_path, text, OLD, OTHER)


def test_the_cli_refuses_to_empty_the_allow_list_and_sends_no_write(tmp_path: Path) -> None:
    seed = {"access_ips": [{"ip_address": "203.0.113.7", "description": "old words"}]}
    path = write_config(tmp_path, "c.yaml", "reconciler:\n  prune: [access_ips]\naccess_ips: []\n")
    with served(Sandbox(api_key=API_KEY, seed=seed)) as account:
        result = account.run("apply", str(path), "--auto-approve", "--force")
        assert result.exit_code == 1, result.output
        assert "every address on the API allow-list" in result.stderr and "Traceback" not in result.output
        assert account.writes() == []
        assert len(account.sandbox.state.all("access_ips")) == 1
