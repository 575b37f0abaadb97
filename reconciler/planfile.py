"""The plan file: what `plan --out` writes and `apply PLANFILE` and `show` read.

A JSON object: `format` (PLANFILE_FORMAT) and `format_version` (PLANFILE_VERSION), the config paths
(relative to the plan file, `config_relative_to: planfile`; older files hold them relative to where `plan`
ran), the `targets` and `force` the plan was made with, and the plan itself (`Plan.to_dict`: sensitive
values shown as `(sensitive)`). Reading checks every part apply uses, so a damaged file is one PlanError,
never a crash. Nothing here prints; the CLI does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from reconciler.errors import PlanError, ReconcilerError
from reconciler.plan import Plan

PLANFILE_FORMAT = "telnyx-reconciler/planfile"
PLANFILE_VERSION = 2  # 2: the plan's format 2 (replace split by order, kind_order)


def write_planfile(path: Path, the_plan: Plan, config_paths: tuple[str, ...], targets: tuple[str, ...],
                   force: bool) -> None:
    document = {
        "format": PLANFILE_FORMAT,
        "format_version": PLANFILE_VERSION,
        # relative to the plan file, so `apply PLANFILE` works from any directory (CI jobs, another checkout)
        "config": [os.path.relpath(Path(c).resolve(), path.resolve().parent) for c in config_paths],
        "config_relative_to": "planfile",
        "targets": list(targets),
        "force": force,
        "plan": the_plan.to_dict(),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ReconcilerError(f"cannot write the plan to {path}: {exc.strerror}", "Choose another --out path.") from None


def saved_config(path: Path, saved: dict[str, Any]) -> tuple[str, ...]:
    """The config paths a plan file names; older plan files hold them relative to where `plan` ran."""
    if saved.get("config_relative_to") != "planfile":
        return tuple(saved["config"])
    return tuple(os.path.normpath(path.parent / c) for c in saved["config"])


def read_planfile(path: Path) -> dict[str, Any] | None:
    """The saved plan in `path`, or None when the file is a config rather than a plan."""
    if path.suffix in (".yaml", ".yml"):
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        raise not_a_plan(path, "it is not JSON") from None
    if not isinstance(document, dict) or document.get("format") != PLANFILE_FORMAT:
        raise not_a_plan(path, f"it has no `\"format\": \"{PLANFILE_FORMAT}\"`")
    if document.get("format_version") != PLANFILE_VERSION:
        raise PlanError(f"{path}: plan file format {str(document.get('format_version'))[:40]} is not supported",
                        "Write the plan again with this version's `plan --out`.")
    _check_planfile(path, document)
    return document


def not_a_plan(path: Path, why: str) -> PlanError:
    return PlanError(f"{path} is not a plan file ({why})",
                     "Give `apply` a plan written by `plan --out`, or config files (.yaml, .yml) or a directory of them.")


def _check_planfile(path: Path, document: dict[str, Any]) -> None:
    """Every part apply reads is there and of its type; a damaged file is one message, not a crash."""
    strings = all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in (document.get("config"), document.get("targets")))
    problem = "" if strings and isinstance(document.get("force"), bool) else (
        "`config`, `targets` or `force` is missing or of the wrong type")
    if not problem:
        try:
            if not isinstance(document["plan"]["changes"], list):
                raise TypeError("`plan.changes` is not a list")
            Plan.from_dict(document["plan"])
        except KeyError as exc:
            problem = f"the key {str(exc)[:60]} is missing"
        except (TypeError, ValueError, AttributeError) as exc:
            problem = str(exc)[:200]
    if problem:
        raise PlanError(f"{path} is a damaged plan file: {problem}", "Write the plan again with `plan --out`; nothing was applied.")
