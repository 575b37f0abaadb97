"""Which of the fields a create request requires a body lacks. Each kind declares them in
`Kind.create_required`, as its create request schema in the vendored spec does (`required`, and `required`
inside a required object, as a dotted path). They are written in the kind rather than read from the spec
at run time, so a plan never loads the spec; tests/test_create_requirements.py derives them from the spec
again for every kind and fails, naming the kind and the fields, when the two differ.
"""

from __future__ import annotations

from typing import Any


def missing(required: tuple[str, ...], body: dict[str, Any]) -> list[str]:
    """The `required` fields a create body lacks (a nested one only when its parent is given)."""
    absent: list[str] = []
    for dotted in required:
        parent, _, name = dotted.rpartition(".")
        if parent and parent in absent:
            continue
        holder = _at(body, parent) if parent else body
        if isinstance(holder, dict) and holder.get(name) is None:
            absent.append(dotted)
    return absent


def _at(body: dict[str, Any], dotted: str) -> Any:
    value: Any = body
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
