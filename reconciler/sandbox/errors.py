"""Telnyx error items and the exception that carries them to the HTTP boundary.

Owns the catalogue of Telnyx error codes the sandbox answers with (see BEHAVIOUR.md), the
`ApiError` raised anywhere below the dispatcher, and the translation of JSON-schema
validation failures into `errors[]` entries with a `detail` sentence and a `source`.
Which envelope an operation uses (string or integer `code`) is decided by the caller from the
spec; `envelope()` only renders it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from jsonschema.exceptions import ValidationError

TITLES: dict[str, str] = {
    "10004": "Missing required parameter",
    "10005": "Resource not found",
    "10006": "Invalid ID",
    "10007": "Unexpected error",
    "10008": "Request timeout",
    "10009": "Authentication failed",
    "10010": "Authorization failed",
    "10011": "Too many requests",
    "10012": "Duplicate resource",
    "10013": "Missing association",
    "10015": "Bad Request",
    "10016": "Phone number must be in +E.164 format",
    "10017": "Associated resource does not exist",
    "10021": "Resource in use",
}

DOCS_URL = "https://developers.telnyx.com/docs/overview/errors/{code}"


@dataclass(frozen=True)
class ErrorItem:
    """One entry of a Telnyx `errors[]` array; `pointer` is for the body, `parameter` for the query."""

    code: str
    detail: str
    pointer: str | None = None
    parameter: str | None = None
    title: str = ""

    @property
    def heading(self) -> str:
        return self.title or TITLES.get(self.code, "Error")

    def to_json(self, *, integer_code: bool = False) -> dict[str, Any]:
        item: dict[str, Any] = {
            "code": int(self.code) if integer_code else self.code,
            "title": self.heading,
            "detail": self.detail,
        }
        source = {k: v for k, v in (("pointer", self.pointer), ("parameter", self.parameter)) if v is not None}
        if source:
            item["source"] = source
        item["meta"] = {"url": DOCS_URL.format(code=self.code)}
        return item


@dataclass
class ApiError(Exception):
    """An error response: raised by handlers, rendered by the dispatcher in the operation's envelope."""

    status: int
    items: list[ErrorItem]
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status}: " + "; ".join(f"{i.code} {i.detail}" for i in self.items)


def envelope(items: Iterable[ErrorItem], *, integer_code: bool = False) -> dict[str, Any]:
    return {"errors": [item.to_json(integer_code=integer_code) for item in items]}


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, [ErrorItem("10005", f"{what} '{ident}' was not found.")])


def duplicate(pointer: str, detail: str) -> ApiError:
    return ApiError(422, [ErrorItem("10012", detail, pointer=pointer)])


def in_use(detail: str) -> ApiError:
    return ApiError(422, [ErrorItem("10021", detail, title="Resource in use")])


def bad_value(detail: str, *, pointer: str | None = None, parameter: str | None = None) -> ApiError:
    return ApiError(422, [ErrorItem("10015", detail, pointer=pointer, parameter=parameter)])


def unexpected(status: int = 500) -> ApiError:
    if status == 503:
        detail = "The service is temporarily unavailable. Please retry later."
    else:
        detail = "An unexpected error occurred."
    return ApiError(status, [ErrorItem("10007", detail)])


def json_pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def query_name(root: str, parts: Iterable[Any]) -> str:
    """`page` + ["size"] -> `page[size]`: how a deepObject query parameter is spelled on the wire."""
    return root + "".join(f"[{p}]" for p in parts)


_ARTICLES = {"integer": "an integer", "object": "an object", "array": "an array"}


def _type_phrase(expected: Any) -> str:
    names = expected if isinstance(expected, list) else [expected]
    return " or ".join(_ARTICLES.get(str(n), f"a {n}") for n in names if n != "null") or "null"


def _complaint(err: ValidationError) -> str:
    """The predicate of the detail sentence for one schema violation."""
    kind, value = err.validator, err.validator_value
    if kind == "type":
        return f"must be {_type_phrase(value)}"
    if kind == "enum":
        return "must be one of: " + ", ".join(str(v) for v in value)
    if kind == "const":
        return f"must be {value!r}"
    if kind == "format":
        return f"must be a valid {value}"
    if kind in ("maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum"):
        relation = {"maximum": "less than or equal to", "minimum": "greater than or equal to",
                    "exclusiveMaximum": "less than", "exclusiveMinimum": "greater than"}[str(kind)]
        return f"must be {relation} {value}"
    if kind in ("minLength", "maxLength"):
        return f"must have {'at least' if kind == 'minLength' else 'at most'} {value} characters"
    if kind in ("minItems", "maxItems"):
        return f"must have {'at least' if kind == 'minItems' else 'at most'} {value} items"
    if kind == "pattern":
        return f"must match the pattern {value}"
    if kind in ("oneOf", "anyOf"):
        return "does not match any of the allowed forms"
    if kind == "additionalProperties":
        return "contains fields that are not allowed"
    return f"is invalid ({err.message})"


def from_schema_error(err: ValidationError, *, parameter: str | None = None) -> list[ErrorItem]:
    """Body errors get a JSON pointer; query errors (`parameter` given) name the bracketed parameter."""
    path = list(err.absolute_path)
    noun = "parameter" if parameter else "field"
    if err.validator == "required":
        present = err.instance if isinstance(err.instance, dict) else {}
        missing = [name for name in err.validator_value if name not in present]
        return [_missing(path + [name], noun, parameter) for name in missing]
    where = _where(path, parameter)
    label = f"The '{where[1]}' {noun}" if where[1] else "The request body"
    return [ErrorItem("10015", f"{label} {_complaint(err)}.", pointer=where[0], parameter=where[2])]


def _missing(path: list[Any], noun: str, parameter: str | None) -> ErrorItem:
    pointer, label, param = _where(path, parameter)
    return ErrorItem("10004", f"The '{label}' {noun} is required.", pointer=pointer, parameter=param)


def _where(path: list[Any], parameter: str | None) -> tuple[str | None, str, str | None]:
    """(pointer, human label, query parameter) for a location inside the body or a query parameter."""
    if parameter is not None:
        name = query_name(parameter, path)
        return None, name, name
    return json_pointer(path) or "/", ".".join(str(p) for p in path), None


def dedupe(items: Iterable[ErrorItem]) -> list[ErrorItem]:
    seen: dict[tuple[str, str | None, str | None, str], ErrorItem] = {}
    for item in items:
        seen.setdefault((item.code, item.pointer, item.parameter, item.detail), item)
    return sorted(seen.values(), key=lambda i: (i.pointer or i.parameter or "", i.code))
