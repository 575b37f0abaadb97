"""The Telnyx OpenAPI contract: loading, path matching, and request/response validation.

Owns `openapi-subset.json` (the vendored spec) and everything read from it: operations and
their parameters, matching a concrete path to a path template, validating query parameters and
JSON bodies with `SpecValidator` (`$ref`s resolve inside the document), and finding the schema
a response must satisfy, including which error envelope an operation uses.

`SpecValidator` is `OAS31Validator` with one OpenAPI rule put back: a `oneOf` or `anyOf` that carries
a `discriminator` is decided by it. OAS 3.1 makes `discriminator` an annotation, but the spec relies
on it: `PortoutEvent` is a `oneOf` of three schemas that accept the same objects, so only the value of
`event_type` (through `mapping`, else a schema's own name) says which one an event must satisfy, as
OAS 3.0 validators and the SDK read it. A value that names none of the branches is refused.

Reusable by any test of the project, for requests the tool sends and responses it receives:

    validate_request(method, path, query, body) -> list[str]      # [] when the request conforms
    validate_response(method, path, status, body) -> list[str]    # [] when the response conforms

`path` may be the full URL path (`/v2/billing_groups/...`) or the path below the server URL.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence
from urllib.parse import parse_qsl, unquote

from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from . import query as q
from .errors import ErrorItem, dedupe, from_schema_error, json_pointer, query_name

SPEC_FILE = Path(__file__).with_name("openapi-subset.json")
SPEC_URI = "urn:telnyx:openapi-subset"
SERVER_PREFIX = "/v2"
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Used only where the spec declares no body at all for an error status: a Telnyx error must at
# least be an `errors[]` list of entries with a code and a title.
GENERIC_ERRORS: dict[str, Any] = {
    "type": "object",
    "required": ["errors"],
    "properties": {"errors": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["code", "title"],
        "properties": {"code": {"type": ["string", "integer"]}, "title": {"type": "string"},
                       "detail": {"type": "string"}}}}},
}


SCHEMAS_PREFIX = "#/components/schemas/"
Keyword = Callable[[Any, Any, Any, Mapping[str, Any]], Iterator[ValidationError]]


def _branch_ref(target: str) -> str:
    """A discriminator mapping value, which may be a bare schema name, as a `$ref`."""
    return target if "#" in target or "/" in target else SCHEMAS_PREFIX + target


def _pick_branch(discriminator: Mapping[str, Any], branches: Sequence[Any], instance: Mapping[str, Any]) -> int | str:
    """The index of the branch the discriminating property names, or why there is none."""
    prop = str(discriminator["propertyName"])
    refs = [str(branch.get("$ref", "")) for branch in branches]
    names = {str(value): _branch_ref(str(target)) for value, target in discriminator.get("mapping", {}).items()}
    for ref in refs:
        names.setdefault(ref.removeprefix(SCHEMAS_PREFIX), ref)  # a schema's own name works too
    value = instance.get(prop)
    if not isinstance(value, str):
        return f"{prop!r} is required (a string) to tell which schema applies"
    if names.get(value) in refs:
        return refs.index(names[value])
    first_names = {ref: name for name, ref in reversed(names.items()) if ref in refs}
    known = ", ".join(repr(name) for name in sorted(first_names.values()))
    return f"{value!r} is not a known {prop!r}; expected one of {known}"


def _discriminated(plain: Keyword) -> Keyword:
    """`oneOf`/`anyOf` that, when the schema has a `discriminator`, validates an object against the
    one branch its discriminating property names, and otherwise behaves as JSON Schema's keyword."""

    def keyword(validator: Any, branches: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
        if "discriminator" not in schema or not validator.is_type(instance, "object"):
            yield from plain(validator, branches, instance, schema)
            return
        picked = _pick_branch(schema["discriminator"], branches, instance)
        if isinstance(picked, str):
            yield ValidationError(picked)
        else:
            yield from validator.descend(instance, branches[picked], schema_path=picked)

    return keyword


SpecValidator: Any = extend(OAS31Validator, {name: _discriminated(OAS31Validator.VALIDATORS[name])
                                             for name in ("oneOf", "anyOf")})


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    deep_object: bool
    schema_pointer: str


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    parameters: tuple[Parameter, ...]
    body_pointer: str | None
    body_required: bool
    responses: Mapping[str, str | None]  # status key ("200", "4XX", "default") -> schema pointer

    def parameters_in(self, location: str) -> list[Parameter]:
        return [p for p in self.parameters if p.location == location]


@dataclass
class CheckedRequest:
    """A request read against its operation; `status` is 0 when it conforms."""

    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    problems: list[ErrorItem] = field(default_factory=list)
    unknown_query: list[str] = field(default_factory=list)
    given: set[str] = field(default_factory=set)
    status: int = 0


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class Spec:
    """The loaded document plus indexes over it; immutable after construction."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._validators: dict[str, Validator] = {}
        self._lock = threading.Lock()
        self.operations: dict[tuple[str, str], Operation] = {
            (op.method, op.template): op for op in self._read_operations()}
        self._templates = sorted({template for _, template in self.operations})

    # -- reading the document ------------------------------------------------------------
    def node(self, pointer: str) -> Any:
        node: Any = self.document
        for token in pointer.split("/")[1:]:
            key = token.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
        return node

    def deref(self, pointer: str) -> str:
        """Follow `$ref`s from `pointer` to the pointer of the node that holds the content."""
        for _ in range(32):
            node = self.node(pointer)
            if not (isinstance(node, Mapping) and "$ref" in node):
                return pointer
            pointer = str(node["$ref"]).removeprefix("#")
        raise ValueError(f"$ref chain too long at {pointer}")

    def page_size_unbounded(self, op: Operation) -> bool:
        """Whether a list operation takes a page size and its spec declares no maximum for it."""
        for param in op.parameters_in("query"):
            schema = self.resolve(self.node(param.schema_pointer))
            if param.name == "page[size]":
                return "maximum" not in schema
            if param.name == "page" and "size" in schema.get("properties", {}):
                return "maximum" not in self.resolve(schema["properties"]["size"])
        return False

    def resolve(self, node: Any) -> Any:
        if isinstance(node, Mapping) and "$ref" in node:
            return self.node(self.deref(str(node["$ref"]).removeprefix("#")))
        return node

    def _read_operations(self) -> Iterable[Operation]:
        for template, item in self.document["paths"].items():
            base = f"/paths/{_escape(template)}"
            shared = self._parameters(f"{base}/parameters", item.get("parameters", []))
            for method in _HTTP_METHODS:
                if method in item:
                    yield self._operation(template, method, f"{base}/{method}", shared)

    def _operation(self, template: str, method: str, pointer: str, shared: list[Parameter]) -> Operation:
        raw = self.node(pointer)
        own = self._parameters(f"{pointer}/parameters", raw.get("parameters", []))
        names = {(p.name, p.location) for p in own}
        body_ptr, body_required = None, False
        if "requestBody" in raw:
            body = self.deref(f"{pointer}/requestBody")
            body_required = bool(self.node(body).get("required", False))
            if "application/json" in self.node(body).get("content", {}):
                body_ptr = f"{body}/content/application~1json/schema"
        responses = {key: self._response_schema(f"{pointer}/responses/{_escape(key)}")
                     for key in raw.get("responses", {})}
        return Operation(method.upper(), template, str(raw.get("operationId", "")),
                         tuple([p for p in shared if (p.name, p.location) not in names] + own),
                         body_ptr, body_required, responses)

    def _parameters(self, pointer: str, raw: list[Any]) -> list[Parameter]:
        params = []
        for index in range(len(raw)):
            ptr = self.deref(f"{pointer}/{index}")
            node = self.node(ptr)
            params.append(Parameter(str(node["name"]), str(node["in"]), bool(node.get("required", False)),
                                    node.get("style") == "deepObject", f"{ptr}/schema"))
        return params

    def _response_schema(self, pointer: str) -> str | None:
        ptr = self.deref(pointer)
        if "application/json" not in self.node(ptr).get("content", {}):
            return None
        content = f"{ptr}/content/application~1json"
        return f"{content}/schema" if "schema" in self.node(content) else None

    # -- matching ------------------------------------------------------------------------
    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        """Match a path below the server URL; literal segments win over `{params}`."""
        segments = path.split("/")[1:] if path.startswith("/") else []
        if not segments or any(s == "" for s in segments):
            return None
        best: tuple[tuple[bool, ...], str, dict[str, str]] | None = None
        for template in self._templates:
            parts = template.split("/")[1:]
            if len(parts) != len(segments):
                continue
            params, score = {}, []
            for part, seg in zip(parts, segments, strict=True):
                if part.startswith("{") and part.endswith("}"):
                    params[part[1:-1]] = unquote(seg)
                    score.append(False)
                elif part == unquote(seg):
                    score.append(True)
                else:
                    break
            else:
                if best is None or tuple(score) > best[0]:
                    best = (tuple(score), template, params)
        return (best[1], best[2]) if best else None

    def methods(self, template: str) -> list[str]:
        return sorted(m for m, t in self.operations if t == template)

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """Lenient lookup for the validation helpers: with or without the `/v2` server prefix."""
        path = path.split("?", 1)[0]
        candidates = [path.removeprefix(SERVER_PREFIX)] if path.startswith(SERVER_PREFIX + "/") else []
        for candidate in candidates + [path]:
            found = self.match(candidate)
            if found and (method.upper(), found[0]) in self.operations:
                return self.operations[(method.upper(), found[0])], found[1]
        return None

    # -- schemas -------------------------------------------------------------------------
    def validator(self, pointer: str) -> Validator:
        with self._lock:
            if pointer not in self._validators:
                self._validators[pointer] = SpecValidator(
                    {"$ref": f"{SPEC_URI}#{pointer}"}, registry=self._registry,
                    format_checker=oas31_format_checker)
            return self._validators[pointer]

    def response_pointer(self, op: Operation, status: int) -> tuple[bool, str | None]:
        """(is the status declared, schema pointer or None) using exact, `4XX`, then `default`.

        Telnyx uses `default` for its generic error body, so it is not taken to declare a success."""
        keys = [str(status), f"{str(status)[0]}XX"] + (["default"] if status >= 300 else [])
        for key in keys:
            if key in op.responses:
                return True, op.responses[key]
        return False, None

    def error_pointer(self, op: Operation, status: int) -> str | None:
        """The error schema for a status, else the area's own (the first declared error schema)."""
        _, pointer = self.response_pointer(op, status)
        if pointer and self._declares_errors(pointer):
            return pointer
        for key, candidate in op.responses.items():
            if not key.startswith("2") and candidate and self._declares_errors(candidate):
                return candidate
        return None

    def _declares_errors(self, pointer: str) -> bool:
        return "errors" in self.resolve(self.node(pointer)).get("properties", {})

    def integer_codes(self, op: Operation | None, status: int) -> bool:
        """Some areas (billing groups' `Errors`) declare `code` as an integer, most as a string."""
        pointer = self.error_pointer(op, status) if op else None
        if pointer is None:
            return False
        errors = self.resolve(self.resolve(self.node(pointer))["properties"]["errors"])
        code = self.resolve(self.resolve(errors.get("items", {})).get("properties", {}).get("code", {}))
        return bool(code.get("type") == "integer")

    # -- requests ------------------------------------------------------------------------
    def check_request(self, op: Operation, path_params: Mapping[str, str],
                      pairs: Sequence[tuple[str, str]], body: bytes | None) -> CheckedRequest:
        checked = CheckedRequest()
        for param in op.parameters_in("path"):
            value = path_params.get(param.name, "")
            for err in self.validator(param.schema_pointer).iter_errors(value):
                checked.problems.append(ErrorItem(
                    "10006", f"The '{param.name}' path parameter {_expected(err)}; got '{value}'.",
                    parameter=param.name))
        if checked.problems:
            checked.status = 404
            return checked
        self._check_query(op, pairs, checked)
        self._check_body(op, body, checked)
        checked.problems = dedupe(checked.problems)
        if checked.problems and not checked.status:
            checked.status = 422
        return checked

    def _check_query(self, op: Operation, pairs: Sequence[tuple[str, str]], checked: CheckedRequest) -> None:
        params = op.parameters_in("query")
        values, checked.unknown_query, conflicts = q.collect(params, pairs)
        checked.problems.extend(conflicts)
        for param in params:
            schema = self.node(param.schema_pointer)
            present = param.name in values
            if not present and param.required:
                checked.problems.append(ErrorItem(
                    "10004", f"The '{param.name}' parameter is required.", parameter=param.name))
            if present:
                checked.given.add(param.name)
                values[param.name] = q.coerce(self.resolve, schema, values[param.name])
                for err in self.validator(param.schema_pointer).iter_errors(values[param.name]):
                    checked.problems.extend(from_schema_error(err, parameter=param.name))
                checked.unknown_query += self._undeclared(schema, values[param.name], [param.name])
            value, has = q.with_defaults(self.resolve, schema, values.get(param.name), present)
            if has:
                checked.query[param.name] = value

    def _undeclared(self, schema: Any, value: Any, path: list[str]) -> list[str]:
        """deepObject members the schema does not name, e.g. `page[sise]`: valid JSON Schema (extra
        properties are allowed) but almost certainly a typo, so reported as unknown parameters."""
        schema = self.resolve(schema)
        if not isinstance(value, dict) or not isinstance(schema, Mapping) or "properties" not in schema:
            return []
        if schema.get("additionalProperties") not in (None, False):
            return []
        found = []
        for key, item in value.items():
            if key in schema["properties"]:
                found += self._undeclared(schema["properties"][key], item, path + [key])
            else:
                found.append(query_name(path[0], path[1:] + [key]))
        return found

    def _check_body(self, op: Operation, body: bytes | None, checked: CheckedRequest) -> None:
        if op.body_pointer is None:
            return
        if not body or not body.strip():
            if op.body_required:
                checked.problems.append(ErrorItem("10004", "The request body is required.", pointer="/"))
            return
        try:
            checked.body = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            checked.problems.append(ErrorItem("10015", "The request body is not valid JSON.", pointer="/"))
            checked.status = 400
            return
        for err in self.validator(op.body_pointer).iter_errors(checked.body):
            checked.problems.extend(from_schema_error(err))


def _expected(err: Any) -> str:
    return f"must be a valid {err.validator_value}" if err.validator == "format" else "is malformed"


@lru_cache(maxsize=1)
def load_spec() -> Spec:
    return Spec(json.loads(SPEC_FILE.read_text(encoding="utf-8")))


QueryInput = Sequence[tuple[str, str]] | Mapping[str, str] | str | None


def _pairs(query: QueryInput) -> list[tuple[str, str]]:
    if query is None:
        return []
    if isinstance(query, str):
        return parse_qsl(query.lstrip("?"), keep_blank_values=True)
    if isinstance(query, Mapping):
        return [(str(k), str(v)) for k, v in query.items()]
    return [(str(k), str(v)) for k, v in query]


def _body_bytes(body: Any) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def _describe(item: ErrorItem) -> str:
    where = item.pointer or item.parameter
    return f"{item.code} {item.heading}: {item.detail}" + (f" (at {where})" if where else "")


def validate_request(method: str, path: str, query: QueryInput = None, body: Any = None) -> list[str]:
    """Problems with a request as the contract sees it; unknown query parameters are reported too."""
    spec = load_spec()
    found = spec.find(method, path.split("?", 1)[0])
    if found is None:
        return [f"no operation {method.upper()} {path} in the spec"]
    op, params = found
    if "?" in path and query is None:
        query = path.split("?", 1)[1]
    checked = spec.check_request(op, params, _pairs(query), _body_bytes(body))
    problems = [_describe(item) for item in checked.problems]
    return problems + [f"unknown query parameter '{key}' for {op.operation_id}" for key in checked.unknown_query]


def validate_response(method: str, path: str, status: int, body: Any) -> list[str]:
    """Problems with a response body against the schema declared for its operation and status."""
    spec = load_spec()
    found = spec.find(method, path)
    if found is None:
        return [f"no operation {method.upper()} {path} in the spec"]
    op = found[0]
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body) if body else None
        except ValueError:
            return [f"{op.operation_id} {status}: body is not JSON"]
    declared, pointer = spec.response_pointer(op, status)
    if status < 400 and not declared:
        return [f"{op.operation_id}: status {status} is not declared by the spec"]
    if status >= 400:
        pointer = spec.error_pointer(op, status)
    if pointer is not None:
        validator = spec.validator(pointer)
    else:
        validator = SpecValidator(GENERIC_ERRORS if status >= 400 else {})
    return [f"{op.operation_id} {status} at {json_pointer(err.absolute_path) or '/'}: {err.message}"
            for err in validator.iter_errors(body)]


__all__ = ["Spec", "SpecValidator", "Operation", "Parameter", "CheckedRequest", "load_spec", "validate_request",
           "validate_response", "SERVER_PREFIX"]
