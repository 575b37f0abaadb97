"""The road one value takes through the tool: a tag added to one number, followed from its YAML entry to the
job request that sets it, through a real `apply` of the real CLI against the sandbox.

Every call into the tool's own modules whose arguments carry that number's entry, its change, its step or
the tags themselves is recorded with the module it was called from. The road must enter each module from
another one at most once: the config builds the entry, the diff compares it (asking the kind's view, the
value helpers and the write-only comparison once each), the plan orders and shows it, apply hands the step
to the kind, and the kind to the job runner, which sends the request. A module the value goes back into
(a kind and its helpers overriding each other in turn, a check asked twice) fails this test.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import yaml_rs

from reconciler.kinds.number_jobs import JobRequest
from reconciler.plan import Change, Step
from reconciler.sandbox import Sandbox, generate_account
from reconciler.states import Entry
from reconciler.yamlio import dumps
from support import API_KEY, served

PACKAGE = str(Path(__file__).resolve().parent.parent / "reconciler") + "/"
SANDBOX = PACKAGE + "sandbox/"
MARK = "traced-tag"


class Tracer:
    """Calls into the tool's modules (not the sandbox's) that carry the traced number, until the call to
    client.py that sends its tags."""

    def __init__(self, number: str) -> None:
        self.number = number
        self.calls: list[tuple[str, str, str]] = []  # (module, function, calling module)
        self.done = False

    def carries(self, value: Any, depth: int = 0) -> bool:
        if isinstance(value, Entry):
            return getattr(value, "phone_number", None) == self.number
        if isinstance(value, Change):
            return value.key == self.number
        if isinstance(value, Step):
            return value.change.key == self.number
        if isinstance(value, JobRequest):
            return self.number in value.numbers and MARK in (value.body.get("tags") or [])
        if isinstance(value, dict):
            if isinstance(value.get("tags"), list) and MARK in value["tags"]:
                return True
            return depth < 3 and len(value) <= 100 and any(self.carries(v, depth + 1) for v in list(value.values()))
        if isinstance(value, list | tuple):
            if MARK in value[:100]:
                return True
            return depth < 3 and len(value) <= 100 and any(self.carries(v, depth + 1) for v in value)
        return False

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call" or self.done:
            return
        code = frame.f_code
        if not code.co_filename.startswith(PACKAGE) or code.co_filename.startswith(SANDBOX):
            return
        count = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 4) + bool(code.co_flags & 8)
        if not any(self.carries(frame.f_locals.get(name)) for name in code.co_varnames[:count]):
            return
        caller = frame.f_back.f_code.co_filename if frame.f_back is not None else ""
        module = code.co_filename.removeprefix(PACKAGE)
        self.calls.append((module, code.co_qualname, caller.removeprefix(PACKAGE) if caller.startswith(PACKAGE) else ""))
        self.done = module == "client.py"

    def entered(self) -> dict[str, list[str]]:
        """Each module, with the calls that entered it from another module."""
        found: dict[str, list[str]] = {}
        for module, function, caller in self.calls:
            if caller != module:
                found.setdefault(module, []).append(f"{caller or '(library)'} -> {function}")
        return found


def test_a_tag_crosses_each_module_once_from_its_yaml_entry_to_its_job_request(tmp_path: Path) -> None:
    sandbox = Sandbox(api_key=API_KEY, seed=generate_account(40, seed=3), job_seconds=0.05,
                      job_seconds_per_number=0.00002)
    with served(sandbox) as account:
        exported = tmp_path / "export.yaml"
        assert account.run("export", "--out", str(exported)).exit_code == 0
        entries = yaml_rs.loads(exported.read_text())["phone_numbers"]["entries"]
        entry = next(e for e in entries if e.get("billing_group") and (e.get("emergency") or {}).get("address"))
        entry = {**entry, "tags": [*entry.get("tags", []), MARK]}
        config = tmp_path / "number.yaml"
        config.write_text(dumps({"phone_numbers": [entry]}))
        tracer = Tracer(entry["phone_number"])
        sys.setprofile(tracer)
        threading.setprofile(tracer)
        try:
            result = account.run("apply", str(config), "--auto-approve")
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]
        assert result.exit_code == 0, result.output
        number = next(n for n in sandbox.state.all("phone_numbers") if n["phone_number"] == entry["phone_number"])
        assert MARK in number["tags"]

    modules = [module for module, _, _ in tracer.calls]
    # The road is whole: from the config through the diff, the plan and apply to the request that sets the tag.
    assert tracer.done, modules
    for module in ("config.py", "diff.py", "order.py", "apply.py", "kinds/phone_numbers.py", "kinds/number_jobs.py"):
        assert module in modules, (module, modules)
    assert modules.index("config.py") < modules.index("diff.py") < modules.index("apply.py") \
        < modules.index("kinds/phone_numbers.py") < modules.index("kinds/number_jobs.py") < modules.index("client.py")
    twice = {module: calls for module, calls in tracer.entered().items() if len(calls) > 1}
    assert twice == {}, twice
