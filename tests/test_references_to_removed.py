"""A resource removed from the config of a pruned kind while other entries still name it: the plan
refuses with the file and line of each use, instead of a plan that cannot be applied."""

from __future__ import annotations

from pathlib import Path

from support import API_KEY, served, write_config

from reconciler.sandbox import Sandbox, generate_account


def test_removing_a_billing_group_that_numbers_still_name_is_a_plan_error_at_the_reference(tmp_path: Path) -> None:
    seed = generate_account(20, seed=3)
    active = [n["phone_number"] for n in seed["phone_numbers"] if n.get("status", "active") == "active"][:3]
    entries = "".join(f"    - phone_number: '{n}'\n" for n in active)
    config = write_config(tmp_path, "c.yaml", (
        "reconciler:\n  prune: [billing_groups]\n"
        "billing_groups:\n  - name: Sales\n  - name: Support\n"
        "phone_numbers:\n  defaults:\n    billing_group: Engineering\n  entries:\n" + entries
    ))
    with served(Sandbox(api_key=API_KEY, seed=seed)) as account:
        assert account.run("validate", str(config)).exit_code == 0  # offline, the account is unknown
        plan = account.run("plan", str(config))
        assert plan.exit_code == 1, plan.output
        assert f"{config}:10:" in plan.stderr and f"{config}:12:" in plan.stderr
        assert "billing group 'Engineering' is deleted by this plan" in plan.stderr
        applied = account.run("apply", str(config), "--auto-approve", "--force")
        assert applied.exit_code == 1 and account.writes() == []

        kept = write_config(tmp_path, "c.yaml", config.read_text().replace("  - name: Support\n", "  - name: Support\n  - name: Engineering\n"))
        assert account.run("apply", str(kept), "--auto-approve", "--force").exit_code == 0
        assert account.run("plan", str(kept), "--detailed-exitcode").exit_code == 0
