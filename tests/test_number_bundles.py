"""A phone number's bundle: set through bundle_status_change, named in the plan, never read back by the
API (the spec declares it on no response), so compared with what the tool last set."""

from __future__ import annotations

from pathlib import Path

from support import API_KEY, served, write_config

from reconciler.sandbox import Sandbox

NUMBER = "+13125550100"
BUNDLE = "5194d8fc-87e6-4188-baa9-1c434bbe861b"
OTHER = "0b9f4f4e-3c1a-4d7e-8f5a-1e2d3c4b5a69"
CHANGE = "/actions/bundle_status_change"


def config(tmp_path: Path, bundle: str, name: str = "numbers.yaml") -> Path:
    return write_config(tmp_path, name, f"phone_numbers:\n  - phone_number: '{NUMBER}'\n    bundle_id: {bundle}\n")


def account():  # type: ignore[no-untyped-def]
    return served(Sandbox(api_key=API_KEY, seed={"phone_numbers": [{"phone_number": NUMBER}]}))


def bundle_requests(sandbox: Sandbox) -> list[str]:
    return [r.method for r in sandbox.requests if r.path.endswith(CHANGE)]


def test_a_malformed_bundle_id_is_refused_with_file_and_line(tmp_path: Path) -> None:
    path = config(tmp_path, "bundle-7")
    with account() as acct:
        result = acct.run("plan", str(path))
        assert acct.request_count() == 0
    assert result.exit_code == 1 and f"{path}:3:" in result.stderr
    assert "'bundle-7' is not a bundle id" in result.stderr and "Traceback" not in result.output


def test_a_null_bundle_id_says_removal_is_not_supported(tmp_path: Path) -> None:
    result_path = config(tmp_path, "null")
    with account() as acct:
        result = acct.run("validate", str(result_path))
    assert result.exit_code == 1 and "removing a number from a bundle is not supported" in result.stderr


def test_the_plan_names_the_bundle_and_apply_sets_it_once(tmp_path: Path) -> None:
    path = config(tmp_path, BUNDLE)
    with account() as acct:
        plan = acct.run("plan", str(path))
        assert plan.exit_code == 0, plan.output
        assert f'bundle_id: null -> "{BUNDLE}"' in plan.stdout and "bundle_id unverified" in plan.stdout
        applied = acct.run("apply", str(path), "--auto-approve")
        assert applied.exit_code == 0, applied.output
        assert bundle_requests(acct.sandbox) == ["PATCH"]
        [stored] = acct.sandbox.state.all("phone_numbers")
        assert stored["_bundle_id"] == BUNDLE
        again = acct.run("plan", str(path))
        assert again.exit_code == 0 and "No changes" in again.stdout, again.output


def test_moving_a_number_to_another_bundle_fails_with_the_apis_reason(tmp_path: Path) -> None:
    with account() as acct:
        assert acct.run("apply", str(config(tmp_path, BUNDLE)), "--auto-approve").exit_code == 0
        moved = acct.run("apply", str(config(tmp_path, OTHER)), "--auto-approve")
        assert moved.exit_code == 1 and "Traceback" not in moved.output
        assert f"is in bundle {BUNDLE}; remove it from that bundle" in moved.stderr
