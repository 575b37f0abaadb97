"""The mutation check before a release (scripts/mutation_check.py) still points at the code it breaks: a
mutation whose text moved away would silently test nothing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_mutation_of_the_safety_core_finds_its_text_once() -> None:
    spec = importlib.util.spec_from_file_location("mutation_check", ROOT / "scripts" / "mutation_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # a dataclass looks its module up there
    spec.loader.exec_module(module)
    assert len(module.MUTATIONS) >= 14
    for mutation in module.MUTATIONS:
        text = (ROOT / mutation.path).read_text(encoding="utf-8")
        assert text.count(mutation.before) == 1, f"{mutation.name}: its text is not found once in {mutation.path}"
        assert all((ROOT / t).is_file() for t in module.TESTS)
