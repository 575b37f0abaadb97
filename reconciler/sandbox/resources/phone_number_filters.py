"""Filters and sort orders over stored phone numbers, for the list endpoints and for update jobs
selected by filter.

`predicates(filter)` turns the spec's consolidated `filter` object into tests on stored records
(it raises 422 for values the service refuses, e.g. fewer than three digits in
`filter[phone_number]`). `ordered(...)` gives the ids of the matching numbers in the requested
order, cached in a `Views` until the collection changes (see listing.py).

Semantics: `tag` matches one tag; `without_tags=true` numbers with none; `phone_number` is a
substring of the digits (non-digits match nothing); `billing_group_id` and `emergency_address_id`
take the string 'null' for "none"; `customer_reference`, `connection_id`, `status` and
`voice.usage_payment_method` are exact; `country_iso_alpha2` takes one code or a comma-separated
list; `source` is `purchased` (number_order) or `ported` (port_request); `voice.connection_name`
(and the voice list's `connection_name`) compares the connection name case-insensitively.
Without `sort`, numbers come newest first; with one, ascending by that field, ties in creation order
(`-field`, used by the messaging list's `sort[phone_number]=desc`, reverses both).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping, Sequence

from ..errors import bad_value
from ..store import Record, State
from . import phone_number_records as pn
from .base import sortable
from .listing import Views, newest_first

Predicate = Callable[[Record], bool]
COLLECTION = "phone_numbers"


def _digits(value: str, parameter: str) -> Predicate:
    wanted = value[1:] if value.startswith("+") else value
    if not (wanted.isascii() and wanted.isdigit()):
        return lambda r: False  # as documented: non-numerical characters return nothing
    if len(wanted) < 3:
        raise bad_value(f"The '{parameter}' parameter requires at least three digits.", parameter=parameter)
    return lambda r: wanted in r["phone_number"]


def _text(match: Mapping[str, Any], parameter: str) -> Predicate:
    tests: list[Callable[[str], bool]] = []
    for op, value in match.items():
        needle = str(value).casefold()
        if op != "eq" and len(needle) < 3:
            raise bad_value(f"The '{parameter}[{op}]' parameter requires at least three characters.",
                            parameter=f"{parameter}[{op}]")
        tests.append(_MATCHERS[op](needle))
    return lambda r: all(test(str(r.get("connection_name") or "").casefold()) for test in tests)


_MATCHERS: dict[str, Callable[[str], Callable[[str], bool]]] = {
    "eq": lambda needle: lambda text: text == needle,
    "contains": lambda needle: lambda text: needle in text,
    "starts_with": lambda needle: lambda text: text.startswith(needle),
    "ends_with": lambda needle: lambda text: text.endswith(needle),
}


def _equals(field: str, value: Any, *, null_word: bool = False) -> Predicate:
    if null_word and value == "null":
        return lambda r: r.get(field) is None
    return lambda r: r.get(field, pn.DEFAULTS.get(field)) == value


def _tag(value: Any, parameter: str) -> Predicate:
    return lambda r: value in r.get("tags", ())


def _without_tags(value: Any, parameter: str) -> Predicate | None:
    return (lambda r: not r.get("tags")) if value == "true" else None  # other values are ignored


def _country(value: Any, parameter: str) -> Predicate:
    codes = set(value if isinstance(value, list) else str(value).split(","))
    return lambda r: (r.get("country_iso_alpha2") or pn.country_of(r["phone_number"])) in codes


def _number_type(value: Any, parameter: str) -> Predicate | None:
    kind = (value or {}).get("eq")
    if kind is None:
        return None
    return lambda r: (r.get("phone_number_type") or pn.number_type_of(r["phone_number"])) == kind


def _source(value: Any, parameter: str) -> Predicate:
    source = "port_request" if value == "ported" else "number_order"
    return lambda r: r.get("source_type", "number_order") == source


def _has_bundle(value: Any, parameter: str) -> Predicate:
    wanted = str(value).lower() == "true"
    return lambda r: bool(r.get("bundle_id")) == wanted


FILTERS: dict[str, Callable[[Any, str], Predicate | None]] = {
    "tag": _tag,
    "without_tags": _without_tags,
    "phone_number": lambda value, parameter: _digits(str(value), parameter),
    "status": lambda value, parameter: _equals("status", value),
    "billing_group_id": lambda value, parameter: _equals("billing_group_id", value, null_word=True),
    "emergency_address_id": lambda value, parameter: _equals("emergency_address_id", value, null_word=True),
    "connection_id": lambda value, parameter: _equals("connection_id", value),
    "customer_reference": lambda value, parameter: _equals("customer_reference", value),
    "voice.usage_payment_method": lambda value, parameter: _equals("usage_payment_method", value),
    "country_iso_alpha2": _country,
    "number_type": _number_type,
    "source": _source,
    "voice.connection_name": _text,
    "connection_name": _text,
    "has_bundle": _has_bundle,
}


def predicates(wanted: Mapping[str, Any], *, status_aliases: Mapping[str, str] | None = None) -> list[Predicate]:
    """One test per given filter; filters the spec declares but the sandbox does not model are ignored."""
    tests: list[Predicate] = []
    for key, value in wanted.items():
        if key == "status":
            value = (status_aliases or {}).get(value, value)
        build = FILTERS.get(key)
        test = build(value, f"filter[{key}]") if build else None
        if test is not None:
            tests.append(test)
    return tests


def sort_key(field: str) -> Callable[[Record], Any]:
    if field == "purchased_at":
        return lambda r: sortable(r.get("purchased_at", r["created_at"]))
    return lambda r: sortable(r.get(field, pn.DEFAULTS.get(field)))


def ordered(state: State, views: Views, tests: Sequence[Predicate], sort: str | None,
            key: Mapping[str, Any]) -> Sequence[str]:
    """Matching ids in order. `key` names the request (filter values, sort) for the cache."""
    peek = state.peek
    if not tests and sort in (None, "phone_number", "-phone_number"):
        # Which numbers exist and their E.164 strings change only with membership: keep across edits,
        # and share between the views (detailed, slim, voice, messaging).
        return views.ids(state, COLLECTION, ("all", sort), lambda: _sorted(state, state.ids(COLLECTION), sort),
                         content=False)
    cache_key = json.dumps(key, sort_keys=True, default=str)

    def compute() -> list[str]:
        ids = [i for i in state.ids(COLLECTION) if all(test(peek(COLLECTION, i) or {}) for test in tests)]
        return _sorted(state, ids, sort)

    return views.ids(state, COLLECTION, cache_key, compute, content=True)


def _sorted(state: State, ids: Sequence[str], sort: str | None) -> list[str]:
    """`field` ascending, `-field` descending (ties reversed too), None newest first."""
    if sort is None:
        return newest_first(state, COLLECTION, ids)
    by = sort_key(sort.lstrip("-"))
    peek = state.peek
    result = sorted(ids, key=lambda i: by(peek(COLLECTION, i) or {}))
    if sort.startswith("-"):
        result.reverse()
    return result
