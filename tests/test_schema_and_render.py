"""Generated files stay in step with the code, and each output format says what the plan says."""

from __future__ import annotations

import io
import json
from pathlib import Path

from reconciler.plan import Action, Change, FieldChange, Plan
from reconciler.render import render
from reconciler.schema import schema_files

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schemas_match_the_models() -> None:
    for name, content in schema_files().items():
        committed = (ROOT / "schemas" / name).read_text()
        assert committed == content, f"schemas/{name} is out of date: run `telnyx-reconciler schema`"


def test_the_config_schema_forbids_unknown_keys() -> None:
    schema = json.loads(schema_files()["config.schema.json"])
    assert schema["additionalProperties"] is False
    assert {"billing_groups", "access_ips", "addresses", "sso_providers", "reconciler"} <= set(schema["properties"])


def sample_plan() -> Plan:
    return Plan(
        (
            Change("billing_groups", "Ops", Action.CREATE, None, {"name": "Ops"}, reason="not in the account"),
            Change(
                "sso_providers", "okta", Action.UPDATE, {"name": "Old"}, {"name": "New"},
                (FieldChange("name", "Old", "New"),), live_id="p1",
            ),
            Change(
                "access_ips", "203.0.113.7", Action.DELETE_BEFORE_CREATE, {"description": "a"}, {"ip_address": "203.0.113.7", "description": "b|c"},
                (FieldChange("description", "a", "b|c"),), "access IP addresses cannot be updated through the API", "a1",
            ),
            Change("billing_groups", "Gone", Action.DELETE, {"name": "Gone"}, None, reason="pruned", live_id="g1"),
        ),
        {"billing_groups": 1},
    )


def rendered(fmt: str, drift: bool = False, plan: Plan | None = None) -> str:
    out = io.StringIO()
    render(sample_plan() if plan is None else plan, fmt, out, drift=drift)
    return out.getvalue()


def test_text_shows_symbols_field_changes_reasons_and_a_summary() -> None:
    text = rendered("text")
    assert "  + billing_groups[Ops]" in text
    assert '  ~ sso_providers[okta]' in text and 'name: "Old" -> "New"' in text
    assert "-/+ access_ips[203.0.113.7]  (delete-before-create: access IP addresses cannot be updated through the API)" in text
    assert "  - billing_groups[Gone]  (delete: pruned)" in text
    assert text.rstrip().endswith("Plan: 1 to create, 1 to update, 1 to replace, 1 to delete.")


def test_drift_uses_drift_words() -> None:
    text = rendered("text", drift=True)
    assert "(missing: not in the account)" in text and "(unmanaged: pruned)" in text
    assert "Drift: 1 missing, 1 changed" in text


def test_json_is_the_documented_versioned_document() -> None:
    document = json.loads(rendered("json"))
    assert (document["format"], document["format_version"], document["kind"]) == ("telnyx-reconciler/plan", 2, "plan")
    assert document["summary"] == {"create": 1, "update": 1, "replace": 1, "delete": 1}
    update = document["changes"][1]
    assert update["changed_fields"] == [{"path": "name", "before": "Old", "after": "New"}]
    assert set(update) == {
        "kind", "key", "action", "live_id", "before", "after", "changed_fields", "reason", "protected", "irreversible"
    }


def test_markdown_is_a_table_with_escaped_cells() -> None:
    markdown = rendered("markdown")
    assert markdown.startswith("### Telnyx plan")
    assert "| `-/+` | `access_ips[203.0.113.7]` | delete-before-create |" in markdown
    assert 'b\\|c' in markdown


def test_an_empty_plan_says_so_in_every_format() -> None:
    empty = Plan(())
    assert rendered("text", plan=empty) == "No changes: the account matches the config.\n"
    assert "No drift" in rendered("markdown", drift=True, plan=empty)
    assert json.loads(rendered("json", plan=empty))["changes"] == []


def test_notes_are_shown_when_there_is_nothing_to_change() -> None:
    quiet = Plan((), notes=("2 phone number(s) differ from the config but are port-out-pending, so they are left alone",))
    for fmt in ("text", "markdown"):
        out = io.StringIO()
        render(quiet, fmt, out)
        assert "port-out-pending, so they are left alone" in out.getvalue()
        assert "No changes: the account matches the config." in out.getvalue()


def test_an_apply_that_stops_after_thousands_of_changes_counts_them_instead_of_listing_them() -> None:
    from reconciler.cli.app import _applied_lines
    from reconciler.errors import ApplyError, ReconcilerError

    done = [Change("phone_numbers", f"+1312555{i:04d}", Action.UPDATE, {}, {}) for i in range(2500)]
    lines = _applied_lines(ApplyError(ReconcilerError("stopped"), done, [], []))
    assert lines == ["  applied:     2500 change(s) of phone_numbers"]
    few = _applied_lines(ApplyError(ReconcilerError("stopped"), done[:3], [], []))
    assert few[0] == "  applied:     ~ phone_numbers[+13125550000]" and len(few) == 3
