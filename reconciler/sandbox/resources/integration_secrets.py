"""Integration secrets: `/integration_secrets` (list, create) and `/integration_secrets/{id}` (delete).

UUID ids; the `identifier` is unique in the account (422 10012 on a duplicate). A `bearer` secret
needs a `token`, a `basic` one a `username` and a `password` (422 10004 for each one missing or
blank); the fields of the other type are ignored, as the spec says. There is no read of one secret
and no update. The list filters on `filter[type]`.

The value is write-only: no response carries the token, username, password or `type`, and the
state file holds none of them in a form that can be read back. A record stores what the API shows
plus `_type` (for the filter) and `_digest`, a salted PBKDF2 hash of the value, so a test can ask
`matches(record, token=...)` whether the tool sent the value it meant to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any, Mapping

from ..errors import ApiError, ErrorItem, bad_value, duplicate
from ..store import Record, State
from .base import Call, Collection, Handler, Reply

REQUIRED = {"bearer": ("token",), "basic": ("username", "password")}
ITERATIONS = 100_000  # slow enough that a short password cannot be read back from the state file
SHOWN = ("record_type", "id", "identifier", "created_at", "updated_at")


def _canonical(fields: Mapping[str, Any], kind: str) -> bytes:
    return json.dumps({name: fields.get(name) for name in REQUIRED[kind]}, sort_keys=True).encode()


def digest(fields: Mapping[str, Any], kind: str, salt: bytes | None = None) -> str:
    """`pbkdf2-sha256$iterations$salt$hash` of the value fields of a `kind` secret."""
    salt = salt if salt is not None else os.urandom(16)
    hashed = hashlib.pbkdf2_hmac("sha256", _canonical(fields, kind), salt, ITERATIONS)
    return f"pbkdf2-sha256${ITERATIONS}${salt.hex()}${hashed.hex()}"


def matches(record: Mapping[str, Any], **value: str) -> bool:
    """Whether a stored secret holds this value: `matches(r, token=..)` or `(r, username=.., password=..)`."""
    scheme, rounds, salt, hashed = str(record.get("_digest", "")).split("$")
    kind = record["_type"]
    candidate = hashlib.pbkdf2_hmac("sha256", _canonical(value, kind), bytes.fromhex(salt), int(rounds))
    return scheme == "pbkdf2-sha256" and hmac.compare_digest(candidate.hex(), hashed)


def _missing_values(fields: Mapping[str, Any], kind: str) -> list[ErrorItem]:
    return [ErrorItem("10004", f"The '{name}' field is required for {kind} secrets.", pointer=f"/{name}")
            for name in REQUIRED[kind] if not str(fields.get(name) or "").strip()]


class IntegrationSecrets(Collection):
    name = "integration_secrets"
    label = "Integration secret"
    id_kind = "uuid"
    schema = "/components/schemas/IntegrationSecret"

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("GET", "/integration_secrets"): self.list_all,
            ("POST", "/integration_secrets"): self.post,
            ("DELETE", "/integration_secrets/{id}"): self.remove,
        }

    def create(self, state: State, fields: Mapping[str, Any]) -> Record:
        """From a create body or a seed entry of the same fields (plus `id`, `created_at`, `updated_at`)."""
        kind, identifier = fields.get("type"), str(fields.get("identifier") or "")
        if kind not in REQUIRED:
            raise bad_value("The 'type' field must be one of: bearer, basic.", pointer="/type")
        if not identifier.strip():
            raise ApiError(422, [ErrorItem("10004", "The 'identifier' field is required.", pointer="/identifier")])
        missing = _missing_values(fields, kind)
        if missing:
            raise ApiError(422, missing)
        if any(other["identifier"] == identifier for other in state.all(self.name)):
            raise duplicate("/identifier", f"A secret with the identifier '{identifier}' already exists.")
        record: Record = {"record_type": "integration_secret", **self.server_fields(state, fields),
                          "identifier": identifier, "_type": kind, "_digest": digest(fields, kind)}
        return state.insert(self.name, record)

    def render(self, state: State, record: Record) -> dict[str, Any]:
        return {key: record[key] for key in SHOWN if key in record}

    def list_all(self, call: Call) -> Reply:
        kind = (call.query.get("filter") or {}).get("type")
        records = [r for r in call.state.all(self.name) if kind is None or r["_type"] == kind]
        return self.page(call.state, records, call.query)

    def post(self, call: Call) -> Reply:
        return 201, {"data": self.render(call.state, self.create(call.state, call.fields))}

    def remove(self, call: Call) -> Reply:
        call.state.delete(self.name, self.fetch(call)["id"])
        return 204, None
