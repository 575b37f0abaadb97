"""Phone numbers the account owns, and their settings. Key: `phone_number` in E.164.

The tool never buys a number: a number in the config that the account does not own stops the plan.
Numbers the config does not list are left alone. A number is released (lost for good) only when its
entry says `release: true` and apply is given --allow-release; a deletion-locked number never is.

Reads use the list endpoints, 250 numbers a request, and only the lists the config needs: the detailed
list carries tags, connection, billing group, emergency and messaging profile; voice settings and the
messaging product each have a list of their own, read only when the config sets them. Writes are
background jobs of up to 1,000 numbers that each set one value (number_jobs.py); messaging profiles move
through messaging bulk updates with `assign_only` (nothing else about the number changes), and only
after they have finished is a messaging product set, one number at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from reconciler.api import Api
from reconciler.errors import PartialFailure, ReconcilerError, UnprocessableError
from reconciler.kinds import number_bundles, number_jobs, number_ownership, owned_numbers
from reconciler.kinds.base import ApplyContext, Kind, NameRef, Names, Removal
from reconciler.kinds.owned_numbers import (
    VOICE_DEFAULTS,
    NumberEntry,
    SettingsGroup,
    Voice,
    shared,
    without_defaults,
)
from reconciler.plan import Op, Step
from reconciler.states import LiveResource

JOB_FIELDS = ("tags", "customer_reference", "connection_id", "billing_group", "hd_voice_enabled", "deletion_lock_enabled",
              "external_pin", "voice")
DETAIL_FIELDS = ("tags", "customer_reference", "connection_id", "hd_voice_enabled", "deletion_lock_enabled")
# Voice settings written through the voice group but read from /phone_numbers, the only list that has
# them (PhoneNumberWithVoiceSettings does not declare them).
DETAILED_VOICE = ("caller_id_name_enabled",)
VOICE_FIELDS = tuple(f for f in VOICE_DEFAULTS if f not in DETAILED_VOICE)
DEFAULT_PRODUCT = "A2P"
# Config fields (dotted below the top level) that need a list beyond /phone_numbers.
VOICE_LIST = "voice"
PRODUCT_FIELD = "messaging.messaging_product"



class Emergency(SettingsGroup):
    enabled: bool = Field(description="Whether emergency calling is enabled on the number.")
    address: str | None = Field(default=None, description="Name of the emergency address (an `addresses` entry).")

    @model_validator(mode="after")
    def _address_when_enabled(self) -> Emergency:
        if self.enabled and not self.address:
            raise ValueError("emergency.enabled needs emergency.address: the name of an address")
        return self


class Messaging(SettingsGroup):
    messaging_profile_id: str | None = None
    messaging_product: str | None = None


class PhoneNumber(NumberEntry):
    billing_group: str | None = Field(default=None, description="Name of a billing group (config or account).")
    hd_voice_enabled: bool | None = None
    deletion_lock_enabled: bool | None = None
    emergency: Emergency | None = None
    voice: Voice | None = None
    messaging: Messaging | None = None
    external_pin: str | None = Field(
        default=None, description="PIN a gaining carrier must give to port the number away: ${env:NAME} or ${file:PATH} only.")
    release: bool = Field(default=False, description="Release the number (irreversible; apply needs --allow-release).")
    bundle_id: str | None = Field(default=None, description="The bundle to put the number in (a UUID); the API "
                                  "never shows it, so it is compared with what the tool last set.")

    _bundle = field_validator("bundle_id", mode="before")(number_bundles.check_bundle_id)


class PhoneNumbers(Kind):
    """Numbers the account owns: never created, never pruned; a number not in a usable state is left alone."""

    name = "phone_numbers"
    title = "phone number"
    model = PhoneNumber
    key_field = "phone_number"
    path = "/phone_numbers"
    prunable = False
    never_created = owned_numbers.NOT_BOUGHT
    confirm_unlisted = staticmethod(number_ownership.confirm_unlisted)
    depends_on = ("billing_groups", "addresses")
    control_fields = frozenset({"release"})
    removal_field = "release"
    names = (NameRef("billing_group", "billing_groups", "billing_group_id"),
             NameRef("emergency.address", "addresses", "emergency_address_id", used_for="for emergency services"))
    # The API has emergency_enabled and emergency_address_id where the config has emergency: {enabled, address}.
    flattened = frozenset({"emergency"})
    # Written once under `defaults:` by an export (where every number has them), not on every number.
    export_defaults: ClassVar[dict[str, Any]] = {"hd_voice_enabled": False, "deletion_lock_enabled": False}
    # The API does not show the PIN (null in reads), so a fingerprint of the one the tool set stands in.
    sensitive = frozenset({"external_pin"})
    fingerprinted = frozenset({"external_pin", "bundle_id"})  # bundle_id: read nowhere (number_bundles.py)

    # --- reading -------------------------------------------------------------------------------------

    def from_api(self, raw: dict[str, Any]) -> LiveResource | None:
        get = raw.get  # calls into C where a comprehension would make a frame for each of 100,000 numbers
        tags = get("tags")
        # Values most numbers share (statuses, tags, ids of groups, addresses, profiles) are kept once.
        attrs: dict[str, Any] = {
            "phone_number": raw["phone_number"], "status": shared(get("status") or "active"),
            "tags": sorted(set(map(shared, tags))) if tags else [], "customer_reference": shared(get("customer_reference")),
            "connection_id": shared(get("connection_id")), "hd_voice_enabled": get("hd_voice_enabled"),
            "deletion_lock_enabled": get("deletion_lock_enabled"), "billing_group_id": shared(get("billing_group_id")),
            "emergency_enabled": bool(get("emergency_enabled")), "emergency_address_id": shared(get("emergency_address_id")),
            "messaging": {"messaging_profile_id": shared(get("messaging_profile_id"))},
            "external_pin": get("external_pin"),
            "voice": {name: get(name) for name in DETAILED_VOICE},  # a third of the cost of dict(zip(...))
        }
        return LiveResource(raw["phone_number"], str(raw["id"]), attrs)

    def fetch(self, api: Api, fields: frozenset[str] = frozenset()) -> list[LiveResource]:
        """Every number; voice settings and messaging products only when the config sets them (or, with
        no fields given, as for an export, always)."""
        everything = not fields
        reads: list[Callable[[], list[Any]]] = [lambda: api.list_all(self.path, transform=self.from_api)]
        voice = VOICE_FIELDS if everything else tuple(f for f in VOICE_FIELDS if f"{VOICE_LIST}.{f}" in fields)
        if voice:
            reads.append(lambda: api.list_all(f"{self.path}/voice", transform=lambda raw: _voice_of(raw, voice)))
        if everything or PRODUCT_FIELD in fields:
            reads.append(lambda: api.list_all(f"{self.path}/messaging", transform=_product_of))
        with ThreadPoolExecutor(max_workers=len(reads)) as pool:
            lists = list(pool.map(lambda read: read(), reads))
        numbers = {r.id: r for r in lists[0]}
        for extra in lists[1:]:
            _merge(numbers, extra)
        return list(numbers.values())

    def export(self, live: LiveResource, names: Names) -> dict[str, Any]:
        """A config entry that plans clean: references by name, settings at the API's defaults left out."""
        attrs = live.attrs
        entry: dict[str, Any] = {"phone_number": live.key, "tags": attrs.get("tags") or []}
        entry.update({k: attrs[k] for k in DETAIL_FIELDS if attrs.get(k) not in (None, [])})
        group = names.key_of_id("billing_groups", attrs["billing_group_id"]) if attrs.get("billing_group_id") else None
        if group:
            entry["billing_group"] = group
        emergency = _exported_emergency(attrs, names)
        if emergency:
            entry["emergency"] = emergency
        voice = without_defaults(attrs.get("voice") or {}, VOICE_DEFAULTS)
        if voice:
            entry["voice"] = voice
        messaging = without_defaults(attrs.get("messaging") or {}, {"messaging_product": DEFAULT_PRODUCT})
        if messaging:
            entry["messaging"] = messaging
        return entry

    # --- comparing -----------------------------------------------------------------------------------

    def left_alone(self, live: LiveResource) -> str | None:
        return owned_numbers.left_alone(live)

    def removal(self, live: LiveResource) -> Removal:
        """`release: true`: the number leaves the account for good, unless it is deletion-locked."""
        if live.attrs.get("deletion_lock_enabled"):
            return Removal("", refused=f"{live.key} is marked release: true but has deletion_lock_enabled; it is never "
                           "released.")
        return Removal("release: the number leaves the account and is lost; this cannot be undone (apply needs "
                       "--allow-release)", irreversible=True)

    # --- applying ------------------------------------------------------------------------------------

    def apply_steps(self, api: Api, steps: list[Step], ctx: ApplyContext) -> None:
        if steps[0].op is Op.DELETE:
            release: dict[str, dict[str, dict[str, Any]]] = {"delete_phone_numbers": {s.change.key: {} for s in steps}}
            self._finish(steps, ctx, self._run(api, ctx, release, "numbers released"))
            return
        settings: dict[str, dict[str, Any]] = {}
        emergency: dict[str, dict[str, Any]] = {}
        profiles: dict[str, str] = {}
        products: dict[str, tuple[str, str]] = {}
        for step in steps:
            changed = {f.path.split(".")[0] for f in step.change.fields}
            after = step.change.after or {}
            body = _settings_body(after, changed, ctx)
            if body:
                settings[step.change.key] = body
            if "emergency" in changed:
                emergency[step.change.key] = _emergency_body(after["emergency"], ctx)
            if "messaging" in changed:
                _messaging_changes(step, profiles, products)
        failed = self._run(api, ctx, {"update_phone_numbers": settings, "update_emergency_settings": emergency},
                           "numbers updated")
        failed.update(number_jobs.run_messaging_updates(api, profiles))
        # After the profile moves have finished, so that none of them can reset a product set here.
        failed.update(self._set_products(api, products))
        failed.update(number_bundles.set_bundles(api, steps, lambda done, total: ctx.progress(
            self.name, done, total, "numbers put in their bundle")))
        self._finish(steps, ctx, failed)

    def _set_products(self, api: Api, products: dict[str, tuple[str, str]]) -> dict[str, str]:
        """Messaging product has no batch call: one PATCH each. The numbers refused, with why."""
        failed: dict[str, str] = {}
        for key, (live_id, product) in products.items():
            try:
                api.patch(f"{self.path}/{live_id}/messaging", {"messaging_product": product},
                          what=f"setting the messaging product of {key}")
            except UnprocessableError as exc:
                failed[key] = str(exc)
        return failed

    def _run(self, api: Api, ctx: ApplyContext, wanted: dict[str, dict[str, dict[str, Any]]], words: str) -> dict[str, str]:
        """Run the jobs (per endpoint, numbers -> body), reporting numbers done of total as they finish; the
        numbers that failed, with why."""
        total = len({n for bodies in wanted.values() for n in bodies})
        outcome = number_jobs.set_values(api, wanted, lambda done, _: ctx.progress(self.name, min(done, total), total, words))
        return dict(outcome.failed)

    def _finish(self, steps: list[Step], ctx: ApplyContext, failed: dict[str, str]) -> None:
        ctx.steps_done([s for s in steps if s.change.key not in failed])
        if failed:
            failures = [(s.change, failed[s.change.key]) for s in steps if s.change.key in failed]
            raise PartialFailure(ReconcilerError(f"{len(failures)} phone number(s) were not changed"), failures)


def _voice_of(raw: dict[str, Any], names: tuple[str, ...]) -> tuple[str, str, dict[str, Any]]:
    """The voice settings named (those the config sets), so a large account keeps no more than it compares."""
    return str(raw["id"]), "voice", {k: shared(raw[k]) for k in names if k in raw}


def _product_of(raw: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    return str(raw["id"]), "messaging", {"messaging_product": raw.get("messaging_product")}


def _merge(numbers: dict[str, LiveResource], extra: list[tuple[str, str, dict[str, Any]]]) -> None:
    """A list of one settings group (number id, group, values) merged into the numbers it names. Each number's
    groups are its own (from_api builds them), so they are extended in place."""
    for number_id, group, values in extra:
        number = numbers.get(number_id)
        if number is not None:
            number.attrs.setdefault(group, {}).update(values)


def _exported_emergency(attrs: dict[str, Any], names: Names) -> dict[str, Any] | None:
    if not attrs.get("emergency_enabled"):
        return {"enabled": False}
    address = names.key_of_id("addresses", attrs["emergency_address_id"]) if attrs.get("emergency_address_id") else None
    # An address the tool does not own has no name to write: emergency stays unmanaged on that number.
    return {"enabled": True, "address": address} if address else None


def _messaging_changes(step: Step, profiles: dict[str, str], products: dict[str, tuple[str, str]]) -> None:
    """Profile moves (for bulk updates) and product changes (one PATCH each) that a change asks for."""
    wanted = (step.change.after or {}).get("messaging") or {}
    before = (step.change.before or {}).get("messaging") or {}
    key = step.change.key
    if "messaging_product" in wanted and wanted["messaging_product"] != before.get("messaging_product"):
        products[key] = (str(step.change.live_id), wanted["messaging_product"])
    if "messaging_profile_id" in wanted and wanted["messaging_profile_id"] != before.get("messaging_profile_id"):
        profiles[key] = wanted["messaging_profile_id"] or ""


def _settings_body(after: dict[str, Any], changed: set[str], ctx: ApplyContext) -> dict[str, Any]:
    body = {k: after[k] for k in JOB_FIELDS if k in changed}
    if "billing_group" in body:
        name = body.pop("billing_group")
        body["billing_group_id"] = ctx.resolve("billing_groups", name) if name else ""
    return body


def _emergency_body(emergency: dict[str, Any], ctx: ApplyContext) -> dict[str, Any]:
    if not emergency.get("enabled"):
        return {"emergency_enabled": False}  # the API refuses an address with emergency disabled
    return {"emergency_enabled": True, "emergency_address_id": ctx.resolve("addresses", emergency["address"])}
