"""Integration secrets: write-only credentials that integrations use. Key: `identifier`.

The API lists a secret's identifier and id, and never its value or type; it has no update call. So:
a secret missing from the account is created; one whose value changed is replaced, the old one deleted
just before the new one is created (the identifier is unique, so the new one cannot come first; the two
calls are adjacent, so the identifier is missing for one request's time). Whether a value changed is
known from a keyed fingerprint the tool recorded when it last wrote the secret (state.py keeps it; the
diff compares it as it compares every write-only field, fingerprint.py).

When there is no fingerprint for the live secret (the tool has never written it: first run, or it was
created or re-created elsewhere), the entry's `unverified` setting decides, and the plan says so:
`replace` (the default) replaces it once so the account is known to hold the config's value; `keep`
leaves it and notes on every plan that its value is unverified.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from reconciler.kinds.base import Kind, Names, WriteOnlyWords
from reconciler.plan import Action
from reconciler.states import Entry, LiveResource

VALUE_FIELDS = ("token", "username", "password")
UNVERIFIED = ("value unverified: the tool has no fingerprint for this secret (first run, or it was created "
              "outside the tool); replacing it makes sure the account holds the config's value")


class IntegrationSecret(Entry):
    identifier: str = Field(min_length=1, description="The name integrations refer to the secret by.")
    type: Literal["bearer", "basic"] = Field(description="`bearer` takes a token; `basic` a username and password.")
    token: str | None = Field(default=None, description="Bearer token: ${env:NAME} or ${file:PATH} only.")
    username: str | None = Field(default=None, description="Basic auth username: ${env:NAME} or ${file:PATH} only.")
    password: str | None = Field(default=None, description="Basic auth password: ${env:NAME} or ${file:PATH} only.")
    unverified: Literal["replace", "keep"] = Field(
        default="replace",
        description="When the tool cannot tell whether the live value is the config's (it has never written "
        "it): `replace` it once, or `keep` it and say so on every plan.",
    )

    @model_validator(mode="after")
    def _values_for_type(self) -> IntegrationSecret:
        wanted = {"bearer": {"token"}, "basic": {"username", "password"}}[self.type]
        given = {f for f in VALUE_FIELDS if getattr(self, f) is not None}
        if wanted - given:
            raise ValueError(f"a {self.type} secret needs {' and '.join(sorted(wanted - given))}")
        if given - wanted:
            raise ValueError(f"a {self.type} secret takes no {' or '.join(sorted(given - wanted))}")
        return self


class IntegrationSecrets(Kind):
    name = "integration_secrets"
    title = "integration secret"
    model = IntegrationSecret
    key_field = "identifier"
    path = "/integration_secrets"
    create_required = ("identifier", "type")
    immutable = None
    replace_action = Action.DELETE_BEFORE_CREATE
    sensitive = frozenset(VALUE_FIELDS)
    fingerprinted = frozenset(VALUE_FIELDS)
    write_only_words = WriteOnlyWords(
        changed="value changed", unverified=UNVERIFIED,
        kept="{name}[{key}]: value unverified (the tool has never written this secret); kept as it is because the "
             "entry says `unverified: keep`.")
    create_only = frozenset({"type"})  # never listed: a change of type is seen through the fingerprint (material)
    control_fields = frozenset({"unverified"})
    pick_newest = True  # nothing shows which copy holds the values; older ones are leftovers

    def from_api(self, raw: dict[str, Any]) -> LiveResource | None:
        return LiveResource(raw["identifier"], str(raw["id"]), {"identifier": raw["identifier"]}, raw.get("created_at", ""))

    def lookup_params(self, key: str) -> dict[str, Any] | None:
        return None  # the list has no filter by identifier: find_raw reads every page

    def material(self, values: dict[str, Any]) -> dict[str, Any]:
        """What the fingerprint covers: the type and the values."""
        return {k: values.get(k) for k in ("type", *VALUE_FIELDS)}

    def export(self, live: LiveResource, names: Names) -> dict[str, Any] | None:
        return None  # the value is never readable: an exported entry could not plan clean

    def keeps_unverified(self, entry: Entry) -> bool:
        return isinstance(entry, IntegrationSecret) and entry.unverified == "keep"
