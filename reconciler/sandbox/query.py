"""Query strings the way the Telnyx spec declares them.

Owns turning raw `(key, value)` pairs into per-parameter values: deepObject parameters
(`page[number]=2`, `filter[customer_reference][eq]=x`) become nested dicts, literally bracketed
parameter names (`filter[phone_number]` declared as one name) are matched as they are, strings
are coerced to the types the parameter schema asks for, and schema defaults are filled in.
Nothing here validates: the coerced values are handed to the JSON-schema validator in spec.py.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from .errors import ErrorItem

Resolve = Callable[[Any], Any]
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class QueryParameter(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def deep_object(self) -> bool: ...


def split_key(key: str) -> list[str] | None:
    """`filter[a][eq]` -> ["filter", "a", "eq"]; None when the brackets are malformed."""
    match = _KEY.match(key)
    if not match:
        return None
    return [match.group(1)] + re.findall(r"\[([^\[\]]*)\]", match.group(2))


def collect(
    parameters: Sequence[QueryParameter], pairs: Iterable[tuple[str, str]]
) -> tuple[dict[str, Any], list[str], list[ErrorItem]]:
    """Group pairs by declared parameter: (values, unknown keys, conflicts such as `a=1&a[b]=2`)."""
    literal = {p.name: p for p in parameters if not p.deep_object}
    deep = {p.name: p for p in parameters if p.deep_object}
    values: dict[str, Any] = {}
    unknown: list[str] = []
    problems: list[ErrorItem] = []
    for key, value in pairs:
        if key in literal:
            values[key] = value
            continue
        parts = split_key(key)
        if parts is None or parts[0] not in deep:
            unknown.append(key)
            continue
        if not _assign(values, parts, value):
            problems.append(ErrorItem("10015", f"The '{key}' parameter conflicts with another value.",
                                      parameter=key))
    return values, unknown, problems


def _assign(root: dict[str, Any], parts: list[str], value: str) -> bool:
    """Set a nested value; a later repeat of the same key wins, a string/object clash is refused."""
    node = root
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return False
        node = child
    if isinstance(node.get(parts[-1]), dict):
        return False
    node[parts[-1]] = value
    return True


def coerce(resolve: Resolve, schema: Any, value: Any) -> Any:
    """Turn query strings into the JSON types `schema` asks for; leave anything unconvertible alone."""
    schema = resolve(schema)
    if not isinstance(schema, Mapping):
        return value
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return _coerce_alternatives(resolve, schema[key], value)
    if isinstance(value, dict):
        return _coerce_object(resolve, schema, value)
    for kind in _types(schema):
        converted = _convert(resolve, schema, kind, value)
        if converted is not _FAILED:
            return converted
    return value


def _coerce_alternatives(resolve: Resolve, options: list[Any], value: Any) -> Any:
    """Use the first alternative of the same shape (object vs scalar) that accepts the value."""
    for option in options:
        option = resolve(option)
        if not isinstance(option, Mapping):
            continue
        is_object = option.get("type") == "object" or "properties" in option
        if is_object != isinstance(value, dict):
            continue
        converted = coerce(resolve, option, value)
        if is_object or converted is not value or "string" in _types(option):
            return converted
    return value


def _types(schema: Mapping[str, Any]) -> list[str]:
    types = schema.get("type", [])
    return list(types) if isinstance(types, list) else [types]


def _coerce_object(resolve: Resolve, schema: Mapping[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    out: dict[str, Any] = {}
    for key, item in value.items():
        sub = properties.get(key, extra if isinstance(extra, Mapping) else None)
        out[key] = coerce(resolve, sub, item) if sub is not None else item
    return out


class _Failed:
    pass


_FAILED = _Failed()


def _convert(resolve: Resolve, schema: Mapping[str, Any], kind: str, value: Any) -> Any:
    if not isinstance(value, str):
        return _FAILED
    if kind == "integer" and re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    if kind == "number" and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value):
        return float(value)
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    if kind == "array":
        items = schema.get("items", {})
        return [coerce(resolve, items, part) for part in value.split(",")] if value else []
    if kind == "string":
        return value
    return _FAILED


def with_defaults(resolve: Resolve, schema: Any, value: Any, present: bool) -> tuple[Any, bool]:
    """Fill `default`s: a missing parameter takes its own default, a missing object its members'."""
    schema = resolve(schema)
    if not isinstance(schema, Mapping):
        return value, present
    if not present:
        if "default" in schema:
            return schema["default"], True
        if "properties" not in schema:
            return value, False
        value = {}
    if not isinstance(value, dict) or "properties" not in schema:
        return value, True
    filled = dict(value)
    for key, sub in schema["properties"].items():
        result, has = with_defaults(resolve, sub, filled.get(key), key in filled)
        if has:
            filled[key] = result
    if not present and not filled:
        return None, False
    return filled, True
