"""SSO (SAML) authentication providers. Key: `short_name`, which is part of the login URL.

Only the settings a user writes are managed; the URLs the API derives (assertion consumer service,
service provider entity id and login URL) are read-only and never diffed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reconciler.kinds.base import Kind, Names
from reconciler.states import Entry, LiveResource

WRITABLE_SETTINGS = ("idp_entity_id", "idp_sso_target_url", "idp_cert_fingerprint", "idp_cert_fingerprint_algorithm")


class SsoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    idp_entity_id: str = Field(description="The identity provider's Entity ID (a URI).")
    idp_sso_target_url: str = Field(description="The identity provider's SSO URL.")
    idp_cert_fingerprint: str = Field(description="Fingerprint of the identity provider's certificate.")
    idp_cert_fingerprint_algorithm: Literal["sha1", "sha256", "sha384", "sha512"] | None = None


class SsoProvider(Entry):
    short_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", description="URL-friendly unique name.")
    name: str = Field(min_length=1)
    active: bool | None = None
    settings: SsoSettings | None = None
    settings_url: str | None = Field(default=None, description="IdP metadata URL, used when settings is absent.")


class SsoProviders(Kind):
    name = "sso_providers"
    title = "SSO provider"
    model = SsoProvider
    key_field = "short_name"
    path = "/authentication_providers"
    create_required = ("name", "short_name", "settings", "settings.idp_entity_id", "settings.idp_sso_target_url",
                       "settings.idp_cert_fingerprint")
    create_only = frozenset({"settings_url"})

    def from_api(self, raw: dict[str, Any]) -> LiveResource | None:
        live_settings = raw.get("settings") or {}
        settings = {k: live_settings[k] for k in WRITABLE_SETTINGS if k in live_settings}
        attrs = {"short_name": raw["short_name"], "name": raw.get("name"), "active": raw.get("active"), "settings": settings}
        return LiveResource(key=raw["short_name"], id=raw["id"], attrs=attrs, created_at=raw.get("created_at", ""))

    def export(self, live: LiveResource, names: Names) -> dict[str, Any]:
        return {k: v for k, v in live.attrs.items() if v not in (None, {})}
