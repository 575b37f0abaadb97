"""Secret values in plans: every way a plan leaves memory (each renderer, drift, the plan file, JSON) shows
`(sensitive)` in their place, for creates, updates and replaces, in whole values and in changed fields."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.plan import Action, Change, FieldChange, Plan
from reconciler.planfile import write_planfile
from reconciler.render import FORMATS, render

OLD_TOKEN, NEW_TOKEN = "tok-old-8c1f2e-secret", "tok-new-3a9d7b-secret"
OLD_PIN, NEW_PIN = "pin-old-4417", "pin-new-9023"
SECRETS = (OLD_TOKEN, NEW_TOKEN, OLD_PIN, NEW_PIN)

PLAN = Plan((
    Change("integration_secrets", "crm", Action.CREATE, None, {"identifier": "crm", "type": "bearer", "token": NEW_TOKEN},
           sensitive=frozenset({"token"})),
    Change("integration_secrets", "erp", Action.DELETE_BEFORE_CREATE,
           {"identifier": "erp", "type": "bearer", "token": OLD_TOKEN}, {"identifier": "erp", "type": "bearer", "token": NEW_TOKEN},
           (FieldChange("token", OLD_TOKEN, NEW_TOKEN),), "value changed", "s1", sensitive=frozenset({"token"})),
    Change("phone_numbers", "+13125550177", Action.UPDATE,
           {"phone_number": "+13125550177", "external_pin": OLD_PIN}, {"phone_number": "+13125550177", "external_pin": NEW_PIN},
           (FieldChange("external_pin", OLD_PIN, NEW_PIN),), "", "n1", sensitive=frozenset({"external_pin"})),
))


def rendered(fmt: str, drift: bool) -> Callable[[Path], str]:
    def run(tmp_path: Path) -> str:
        out = io.StringIO()
        render(PLAN, fmt, out, drift=drift)
        return out.getvalue()

    return run


def planfile(tmp_path: Path) -> str:
    path = tmp_path / "reviewed.plan"
    write_planfile(path, PLAN, ("telnyx",), (), False)
    return path.read_text()


OUTPUTS: dict[str, Callable[[Path], str]] = {
    **{f"{fmt} plan": rendered(fmt, False) for fmt in FORMATS},
    **{f"{fmt} drift": rendered(fmt, True) for fmt in FORMATS},
    "plan file": planfile,
    "plan as data": lambda tmp_path: json.dumps(PLAN.to_dict()),
    "each change as data": lambda tmp_path: json.dumps([c.to_dict() for c in PLAN.changes]),
}


@pytest.mark.parametrize("output", sorted(OUTPUTS))
def test_no_plan_output_holds_a_secret_value(output: str, tmp_path: Path) -> None:
    text = OUTPUTS[output](tmp_path)
    assert "(sensitive)" in text and "crm" in text  # the output is real, not empty
    for secret in SECRETS:
        assert secret not in text, f"{output} shows {secret}"


def test_values_and_changed_fields_are_both_hidden_and_the_rest_shown() -> None:
    replace = PLAN.changes[1].to_dict()
    assert replace["before"]["token"] == replace["after"]["token"] == "(sensitive)"
    assert replace["changed_fields"] == [{"path": "token", "before": "(sensitive)", "after": "(sensitive)"}]
    assert replace["after"]["identifier"] == "erp" and replace["after"]["type"] == "bearer"
    update = PLAN.changes[2].to_dict()
    assert update["changed_fields"] == [{"path": "external_pin", "before": "(sensitive)", "after": "(sensitive)"}]
    assert update["after"]["phone_number"] == "+13125550177"


def test_the_real_values_stay_in_memory_for_apply() -> None:
    assert PLAN.changes[0].after is not None and PLAN.changes[0].after["token"] == NEW_TOKEN
