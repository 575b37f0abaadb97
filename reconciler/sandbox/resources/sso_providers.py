"""SSO authentication providers: `/authentication_providers` and `/authentication_providers/{id}`.

List (with `sort`), create, get, update, delete. UUID ids; `short_name` is unique (10012) and
URL-friendly, because it becomes part of the login URLs. The response `settings` add what the
service derives from `short_name` (assertion consumer service URL, service provider entity id and
login URL, in the form of the spec's examples) and default `idp_cert_fingerprint_algorithm` to
sha1. `activated_at` is set while the provider is active. `settings_url` is accepted and ignored:
the sandbox fetches no IdP metadata, and the spec returns no such field.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from ..errors import bad_value, duplicate
from ..store import Record, State
from .base import Call, Collection, Handler, Reply, pick, sort_records

SSO_BASE = "https://api.telnyx.com/sso"
DERIVED = ("assertion_consumer_service_url", "service_provider_entity_id", "service_provider_login_url")
_URL_FRIENDLY = re.compile(r"^[A-Za-z0-9._~-]+$")


def derived_settings(short_name: str) -> dict[str, str]:
    return {
        "assertion_consumer_service_url": f"{SSO_BASE}/saml/auth/{short_name}",
        "service_provider_entity_id": f"{SSO_BASE}/saml/metadata/{short_name}",
        "service_provider_login_url": f"{SSO_BASE}/{short_name}",
    }


def idp_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in settings.items() if k not in DERIVED}
    kept.setdefault("idp_cert_fingerprint_algorithm", "sha1")
    return kept


class SsoProviders(Collection):
    name = "sso_providers"
    label = "Authentication provider"
    id_kind = "uuid"
    schema = "/components/schemas/AuthenticationProvider"

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("GET", "/authentication_providers"): self.list_all,
            ("POST", "/authentication_providers"): self.post,
            ("GET", "/authentication_providers/{id}"): self.retrieve,
            ("PATCH", "/authentication_providers/{id}"): self.patch,
            ("DELETE", "/authentication_providers/{id}"): self.remove,
        }

    def _check_short_name(self, state: State, short_name: Any, own_id: str | None) -> None:
        if not isinstance(short_name, str) or not _URL_FRIENDLY.match(short_name):
            raise bad_value("The 'short_name' field must be URL-friendly: letters, digits, '.', '_', '~' or '-'.",
                            pointer="/short_name")
        for other in state.all(self.name):
            if other.get("short_name") == short_name and other["id"] != own_id:
                raise duplicate("/short_name", f"An authentication provider with short_name '{short_name}' "
                                "already exists.")

    def create(self, state: State, fields: Mapping[str, Any]) -> Record:
        self._check_short_name(state, fields.get("short_name"), None)
        record: Record = {
            **self.server_fields(state, fields),
            "record_type": "authentication_provider",
            "organization_id": state.organization_id,
            "active": True,
        }
        record.update({k: v for k, v in fields.items() if k != "settings_url"})
        record["settings"] = idp_settings(fields.get("settings") or {})
        if record["active"]:
            record.setdefault("activated_at", record["created_at"])
        return state.insert(self.name, record)

    def render(self, state: State, record: Record) -> dict[str, Any]:
        settings = {**record.get("settings", {}), **derived_settings(str(record.get("short_name", "")))}
        return {**record, "settings": settings}

    def list_all(self, call: Call) -> Reply:
        records = sort_records(call.state.all(self.name), str(call.query.get("sort", "-created_at")))
        return self.page(call.state, records, call.query)

    def post(self, call: Call) -> Reply:
        fields = pick(call.fields, ["name", "short_name", "settings", "active"])
        return self.reply(call.state, self.create(call.state, fields))

    def patch(self, call: Call) -> Reply:
        record = self.fetch(call)
        changes = pick(call.fields, ["name", "short_name", "active"])
        if "short_name" in changes:
            self._check_short_name(call.state, changes["short_name"], record["id"])
        if "settings" in call.fields:
            # The spec's `settings` requires the whole IdP configuration, so it replaces the old one.
            changes["settings"] = idp_settings(call.fields["settings"])
        merged = {**record, **changes, "updated_at": call.state.now()}
        if merged.get("active") and not record.get("active"):
            merged["activated_at"] = merged["updated_at"]
        if not merged.get("active"):
            merged.pop("activated_at", None)
        return self.reply(call.state, call.state.replace(self.name, record["id"], merged))

    def remove(self, call: Call) -> Reply:
        record = self.fetch(call)
        call.state.delete(self.name, record["id"])
        return self.reply(call.state, record)
