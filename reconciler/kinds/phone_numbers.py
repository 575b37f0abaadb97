"""Phone numbers the account owns, and their settings. Key: `phone_number` in E.164.

The tool never buys a number: a number in the config that the account does not own stops the plan.
Numbers the config does not list are left alone. A number is released (lost for good) only when its
entry says `release: true` and apply is given --allow-release; a deletion-locked number never is.

Reads use the list endpoints, 250 numbers a request, and only the lists the config needs (voice settings
and messaging settings each have their own). Writes are background jobs of up to 1,000 numbers that each
set one value (number_jobs.py); messaging profiles move through messaging bulk updates.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import Field, model_validator

from reconciler.errors import PartialFailure, ReconcilerError
from reconciler.kinds import number_jobs
from reconciler.kinds.base import Api, ApplyContext, DiffContext, Entry, KindDiff, LiveResource, Reference
from reconciler.kinds.owned_numbers import NumberEntry, OwnedNumbers, Voice, _Settings
from reconciler.plan import Action, Change, Op, Step

JOB_FIELDS = ("tags", "customer_reference", "connection_id", "billing_group", "hd_voice_enabled", "deletion_lock_enabled", "voice")
DETAIL_FIELDS = ("tags", "customer_reference", "connection_id", "hd_voice_enabled", "deletion_lock_enabled")
VOICE_FIELDS = (
    "call_forwarding", "call_recording", "cnam_listing", "media_features", "inbound_call_screening",
    "translated_number", "usage_payment_method", "tech_prefix_enabled",
)


class Emergency(_Settings):
    enabled: bool = Field(description="Whether emergency calling is enabled on the number.")
    address: str | None = Field(default=None, description="Name of the emergency address (an `addresses` entry).")

    @model_validator(mode="after")
    def _address_when_enabled(self) -> Emergency:
        if self.enabled and not self.address:
            raise ValueError("emergency.enabled needs emergency.address: the name of an address")
        return self


class Messaging(_Settings):
    messaging_profile_id: str | None = None
    messaging_product: str | None = None


class PhoneNumber(NumberEntry):
    billing_group: str | None = Field(default=None, description="Name of a billing group (config or account).")
    hd_voice_enabled: bool | None = None
    deletion_lock_enabled: bool | None = None
    emergency: Emergency | None = None
    voice: Voice | None = None
    messaging: Messaging | None = None
    release: bool = Field(default=False, description="Release the number (irreversible; apply needs --allow-release).")


class PhoneNumbers(OwnedNumbers):
    name = "phone_numbers"
    title = "phone number"
    model = PhoneNumber
    path = "/phone_numbers"
    depends_on = ("billing_groups", "addresses")
    control_fields = frozenset({"release"})

    # --- reading -------------------------------------------------------------------------------------

    def from_api(self, raw: dict[str, Any]) -> LiveResource | None:
        attrs: dict[str, Any] = {"phone_number": raw["phone_number"], "status": raw.get("status", "active")}
        for name in DETAIL_FIELDS:
            attrs[name] = raw.get(name)
        attrs["tags"] = sorted(set(raw.get("tags") or []))
        attrs["billing_group_id"] = raw.get("billing_group_id")
        attrs["emergency_enabled"] = bool(raw.get("emergency_enabled"))
        attrs["emergency_address_id"] = raw.get("emergency_address_id")
        return LiveResource(raw["phone_number"], str(raw["id"]), attrs, raw.get("created_at", ""))

    def fetch(self, api: Api, fields: frozenset[str] = frozenset()) -> list[LiveResource]:
        numbers = {r.id: r for r in api.list_all(self.path, transform=self.from_api)}
        if "voice" in fields:
            for item in api.list_all(f"{self.path}/voice", transform=_voice_of):
                if item[0] in numbers:
                    numbers[item[0]].attrs["voice"] = item[1]
        if "messaging" in fields:
            for item in api.list_all(f"{self.path}/messaging", transform=_messaging_of):
                if item[0] in numbers:
                    numbers[item[0]].attrs["messaging"] = item[1]
        return list(numbers.values())

    def export(self, live: LiveResource) -> dict[str, Any]:
        entry = {k: live.attrs[k] for k in ("phone_number", *DETAIL_FIELDS) if live.attrs.get(k) not in (None, [])}
        return entry

    # --- comparing -----------------------------------------------------------------------------------

    def references(self, entry: Entry) -> Iterable[Reference]:
        assert isinstance(entry, PhoneNumber)
        if entry.billing_group:
            yield Reference("billing_groups", entry.billing_group, "billing_group")
        if entry.emergency and entry.emergency.address:
            yield Reference("addresses", entry.emergency.address, "emergency.address")

    def compare(self, entry: Entry, live: LiveResource, ctx: DiffContext, result: KindDiff) -> Change | None:
        if isinstance(entry, PhoneNumber) and entry.release:
            return self._release(entry, live, result)
        return super().compare(entry, live, ctx, result)

    def _release(self, entry: PhoneNumber, live: LiveResource, result: KindDiff) -> Change | None:
        if live.attrs.get("deletion_lock_enabled"):
            result.notes.append(f"{live.key} is marked release: true but has deletion_lock_enabled; it is never released.")
            return None
        reason = f"release: the number leaves the account and is lost; this cannot be undone (apply needs --allow-release)"
        return Change(self.name, live.key, Action.DELETE, {"phone_number": live.key}, None, (), reason, live.id,
                      entry.prevent_destroy, irreversible=True)

    def config_view(self, attrs: dict[str, Any], ctx: DiffContext) -> dict[str, Any]:
        """Live values in the config's words: ids of billing groups and addresses become their names."""
        view = {k: v for k, v in attrs.items() if k not in ("billing_group_id", "emergency_address_id", "emergency_enabled", "status")}
        view["billing_group"] = _name(ctx, "billing_groups", attrs.get("billing_group_id"))
        view["emergency"] = {
            "enabled": attrs.get("emergency_enabled", False),
            "address": _name(ctx, "addresses", attrs.get("emergency_address_id")),
        }
        return view

    # --- applying ------------------------------------------------------------------------------------

    def apply_steps(self, api: Api, steps: list[Step], ctx: ApplyContext) -> None:
        if steps[0].op is Op.DELETE:
            self._run(api, steps, ctx, [number_jobs.JobRequest("delete_phone_numbers", {}, [s.change.key for s in steps])], "numbers released")
            return
        settings: dict[str, dict[str, Any]] = {}
        emergency: dict[str, dict[str, Any]] = {}
        profiles: dict[str, str] = {}
        for step in steps:
            changed = {f.path.split(".")[0] for f in step.change.fields}
            after = step.change.after or {}
            body = {k: after[k] for k in JOB_FIELDS if k in changed}
            if "billing_group" in body:
                name = body.pop("billing_group")
                body["billing_group_id"] = ctx.resolve("billing_groups", name) if name else ""
            if body:
                settings[step.change.key] = body
            if "emergency" in changed:
                emergency[step.change.key] = _emergency_body(after["emergency"], ctx)
            if "messaging" in changed:
                profiles.update(self._messaging(api, step, ctx))
        requests = number_jobs.group_requests("update_phone_numbers", settings)
        requests += number_jobs.group_requests("update_emergency_settings", emergency)
        failed = self._run(api, steps, ctx, requests, "numbers updated", raise_on_failure=False)
        failed.update(number_jobs.run_messaging_updates(api, profiles))
        self._finish(steps, ctx, failed)

    def _messaging(self, api: Api, step: Step, ctx: ApplyContext) -> dict[str, str]:
        """Messaging product has no batch call: one PATCH each. Profiles are returned for a bulk update."""
        wanted = (step.change.after or {}).get("messaging") or {}
        before = (step.change.before or {}).get("messaging") or {}
        if "messaging_product" in wanted and wanted["messaging_product"] != before.get("messaging_product"):
            api.patch(f"{self.path}/{step.change.live_id}/messaging", {"messaging_product": wanted["messaging_product"]},
                      what=f"setting the messaging product of {step.change.key}")
        if "messaging_profile_id" in wanted and wanted["messaging_profile_id"] != before.get("messaging_profile_id"):
            return {step.change.key: wanted["messaging_profile_id"] or ""}
        return {}

    def _run(self, api: Api, steps: list[Step], ctx: ApplyContext, requests: list[number_jobs.JobRequest], words: str,
             raise_on_failure: bool = True) -> dict[str, str]:
        total = len({n for r in requests for n in r.numbers})
        outcome = number_jobs.run_jobs(api, requests, lambda done, _: ctx.progress(self.name, min(done, total), total, words))
        if raise_on_failure:
            self._finish(steps, ctx, outcome.failed)
        return dict(outcome.failed)

    def _finish(self, steps: list[Step], ctx: ApplyContext, failed: dict[str, str]) -> None:
        ctx.steps_done([s for s in steps if s.change.key not in failed])
        if failed:
            failures = [(s.change, failed[s.change.key]) for s in steps if s.change.key in failed]
            raise PartialFailure(ReconcilerError(f"{len(failures)} phone number(s) were not changed"), failures)


def _voice_of(raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return str(raw["id"]), {k: raw[k] for k in VOICE_FIELDS if k in raw}


def _messaging_of(raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return str(raw["id"]), {"messaging_profile_id": raw.get("messaging_profile_id"), "messaging_product": raw.get("messaging_product")}


def _name(ctx: DiffContext, kind: str, live_id: str | None) -> str | None:
    """A referenced resource's name, marked when the plan removes it, so numbers on it are moved."""
    if not live_id:
        return None
    key = ctx.key_of_id(kind, live_id)
    if key is None:
        return f"(unnamed {kind[:-1].replace('_', ' ')} {live_id})"
    return f"{key} (being replaced)" if ctx.doomed(kind, live_id) else key


def _emergency_body(emergency: dict[str, Any], ctx: ApplyContext) -> dict[str, Any]:
    address = emergency.get("address")
    body: dict[str, Any] = {"emergency_enabled": bool(emergency.get("enabled"))}
    if address:
        body["emergency_address_id"] = ctx.resolve("addresses", address)
    return body
