"""Pure comparison of values, for the one diff (diff.py) and the kinds: the live values at the places a
desired value sets (descending into nested models), and the field-level differences between the two.
Nothing here knows a kind.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

from reconciler.plan import FieldChange


def project(live: dict[str, Any], wanted: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """The live values at the places `wanted` sets, descending into nested models."""
    view: dict[str, Any] = {}
    for name, value in wanted.items():
        current = live.get(name)
        if isinstance(value, dict) and isinstance(current, dict) and (sub := nested_model(model, name)) is not None:
            view[name] = project(current, value, sub)
        else:
            view[name] = current
    return view


@cache  # asked for each settings group of every entry; a model's fields do not change
def nested_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The model of a field that holds a nested one (in a union with None, say); None for any other field."""
    info = model.model_fields.get(name)
    if info is None:
        return None
    for candidate in (info.annotation, *getattr(info.annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def field_changes(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[FieldChange]:
    """Each changed value as a dotted path with its old and new value, in a stable order. Only pairs that
    differ get here, and each value is compared with `==` first, so a large account pays for what changed
    alone: a mapping on both sides is descended into; any other value (a tag set, say) is shown whole,
    before and after. The keys are those of `after`, as `before` is the live view at its places."""
    found: list[FieldChange] = []
    for name in sorted(after):
        old, new = before.get(name), after[name]
        if old == new:
            continue
        inner = field_changes(old, new, f"{prefix}{name}.") if isinstance(old, dict) and isinstance(new, dict) else []
        found.extend(inner or [FieldChange(f"{prefix}{name}", old, new)])  # a live mapping with more keys: whole
    return found
