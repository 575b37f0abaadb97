"""The plan-file format on its own: written, read back and checked without the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.errors import PlanError
from reconciler.plan import Action, Change, Plan
from reconciler.planfile import PLANFILE_FORMAT, PLANFILE_VERSION, read_planfile, saved_config, write_planfile

PLAN = Plan((Change("billing_groups", "ops", Action.CREATE, None, {"name": "ops"}),))


def test_a_written_plan_reads_back_with_its_config_found_from_anywhere(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config").mkdir()
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "out" / "plan.json"
    write_planfile(path, PLAN, ("config",), ("billing_groups.ops",), True)

    saved = read_planfile(path)
    assert saved is not None and saved["format"] == PLANFILE_FORMAT and saved["format_version"] == PLANFILE_VERSION
    assert Plan.from_dict(saved["plan"]).checksum == PLAN.checksum
    assert (saved["targets"], saved["force"], saved["config"]) == (["billing_groups.ops"], True, ["../config"])
    assert Path(saved_config(path, saved)[0]).resolve() == (tmp_path / "config").resolve()


def test_a_config_is_not_read_as_a_plan_and_a_damaged_plan_is_one_error(tmp_path: Path) -> None:
    assert read_planfile(tmp_path / "telnyx.yaml") is None
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"format": PLANFILE_FORMAT, "format_version": PLANFILE_VERSION, "config": [],
                                "targets": [], "force": False, "plan": {"changes": "none"}}))
    with pytest.raises(PlanError, match="damaged plan file: `plan.changes` is not a list"):
        read_planfile(path)
    path.write_text(json.dumps({"format": PLANFILE_FORMAT, "format_version": 99}))
    with pytest.raises(PlanError, match="plan file format 99 is not supported"):
        read_planfile(path)
    # version 1 held `replace` changes with no order: apply cannot tell which half goes first
    path.write_text(json.dumps({"format": PLANFILE_FORMAT, "format_version": 1}))
    with pytest.raises(PlanError, match="plan file format 1 is not supported"):
        read_planfile(path)
