"""`--target`: only the targeted kinds are loaded and resolved; a kind or key that does not exist is an error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import EXAMPLES, Account, example_variable_names, write_config

SECRETS = "integration_secrets:\n  - identifier: crm\n    type: bearer\n    token: ${env:CRM_TOKEN}\n"


def test_a_port_out_run_needs_none_of_the_integration_secrets_variables(
    account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = shutil.copytree(EXAMPLES / "config", tmp_path / "telnyx")  # its secrets read ${env:...}
    names = example_variable_names()
    for name in names:
        monkeypatch.delenv(name)  # the port-out job of the example workflow passes none of them
    untargeted = account.run("plan", str(config))
    assert untargeted.exit_code == 1 and all(f"{name} is not set" in untargeted.stderr for name in names)
    answered = account.run("apply", str(config), "--target", "portout_policy", "--auto-approve")
    assert answered.exit_code == 0, answered.output
    assert names and not any(name in answered.output for name in names)


def test_a_targeted_kind_still_loads_the_kinds_it_refers_to(account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_TOKEN", raising=False)  # unset: loading the secret would be an error naming it
    config = write_config(tmp_path, "c.yaml", "billing_groups:\n  - name: Clinic\nphone_numbers:\n"
                          "  - phone_number: '+13125550101'\n    billing_group: Clinic\n" + SECRETS)
    result = account.run("plan", str(config), "--target", "phone_numbers")
    assert result.exit_code == 0 and "CRM_TOKEN" not in result.output and "exists neither" not in result.output, result.output


@pytest.mark.parametrize(("target", "named"), [("billing_group", "unknown kind 'billing_group'"),
                                               ("billing_groups:Nope", "no billing group 'Nope' in the config or the account")])
def test_an_unknown_kind_or_key_is_an_error_naming_it(account: Account, target: str, named: str) -> None:
    result = account.run("plan", str(EXAMPLES / "config"), "--target", target)
    assert result.exit_code == 1
    assert named in result.stderr and "No changes" not in result.stdout


def test_a_key_that_exists_only_in_the_account_can_be_targeted(account: Account) -> None:
    result = account.run("plan", str(EXAMPLES / "config"), "--target", "billing_groups:Marketing")
    assert result.exit_code == 0, result.output
    assert "- billing_groups[Marketing]" in result.stdout and "Support" not in result.stdout


def test_a_targeted_number_brings_along_the_create_of_the_billing_group_it_moves_to(account: Account, tmp_path: Path) -> None:
    config = write_config(tmp_path, "c.yaml", "billing_groups:\n  - name: Clinic\n  - name: Unrelated\nphone_numbers:\n"
                          "  - phone_number: '+13125550101'\n    billing_group: Clinic\n")
    plan = account.run("plan", str(config), "--target", "phone_numbers:+13125550101")
    assert plan.exit_code == 0, plan.output
    assert "+ billing_groups[Clinic]" in plan.stdout and "Unrelated" not in plan.stdout
    assert "the create of billing_groups[Clinic] is in the plan too: phone_numbers[+13125550101] names it" in plan.stdout
    applied = account.run("apply", str(config), "--target", "phone_numbers:+13125550101", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    groups = {g["name"]: g["id"] for g in account.sandbox.state.all("billing_groups")}
    number = next(n for n in account.sandbox.state.all("phone_numbers") if n["phone_number"] == "+13125550101")
    assert "Unrelated" not in groups and number["billing_group_id"] == groups["Clinic"]
