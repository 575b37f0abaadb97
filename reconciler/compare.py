"""Pure helpers over values, for the one diff (diff.py) and the kinds: the live values at the places a
desired value sets (descending into nested models), and the model of a nested settings group. Nothing
here knows a kind.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel


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
