"""The two states the engine compares, as plain data: what the config asks for (DesiredState of Entry
models and the tool's settings, built and validated by config.py) and what the account holds (LiveState of
LiveResources, read by the kinds' and the policies' `fetch`).

Neither the differ nor the kinds own these: config, pipeline, diff, export and the kinds all import them
from here, and this module imports nothing above it, not even for types. What needs a registry (which
kinds `reconciler.prune` may name) is checked by config.py.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reconciler.plan import SafetyLimits
from reconciler.references import ENV_NAME, forbidden_variable

if TYPE_CHECKING:
    from reconciler.yamlio import Document

STATE_FILE_NAME = "telnyx-reconciler.state.json"
META_FIELDS = frozenset({"prevent_destroy"})
_NOT_SENT = set(META_FIELDS)


class Entry(BaseModel):
    """Base of every config entry. Fields left out of the config are not managed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prevent_destroy: bool = Field(
        default=False, description="Refuse any plan that deletes or replaces this resource."
    )

    def managed(self) -> dict[str, Any]:
        """The values this entry sets, in API field names (what the diff compares)."""
        # The model's serializer, asked directly: model_dump's own checks cost a tenth of a 100,000-number diff.
        return self.__pydantic_serializer__.to_python(self, mode="json", exclude_unset=True, exclude=_NOT_SENT)


class SafetySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    update_threshold: float = Field(0.3, ge=0, le=1, description="Largest share of a kind's live resources one plan may update.")
    delete_threshold: float = Field(0.3, ge=0, le=1, description="Largest share one plan may delete or replace.")
    min_existing: int = Field(10, ge=0, description="Thresholds apply only to kinds with at least this many live resources.")

    def limits(self) -> SafetyLimits:
        return SafetyLimits(self.update_threshold, self.delete_threshold, self.min_existing)


class ReconcilerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prune: list[str] = Field(
        default_factory=list,
        description="Kinds whose live resources not listed in the config are deleted by apply (default: none).",
    )
    safety: SafetySettings = Field(default_factory=SafetySettings)
    state_file: str | None = Field(
        default=None,
        description=f"Where the tool keeps keyed fingerprints of write-only values (integration secrets) and the "
        f"ids its interrupted replaces left behind, "
        f"relative to this YAML file. Default: {STATE_FILE_NAME} beside the config.",
    )
    variables: list[str] = Field(
        default_factory=list,
        description="Environment variables that `${env:NAME}` may use in fields that plans show (names, "
        "descriptions, ...). Secrets may use any variable but the tool's credentials and CI tokens.",
    )

    @field_validator("variables")
    @classmethod
    def _usable_variables(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not ENV_NAME.match(name) or forbidden_variable(name)]
        if bad:
            raise ValueError(f"{', '.join(bad)} cannot be used: a variable name of letters, digits and `_`, "
                             "and never the tool's credentials or a CI token")
        return value


class Keyed(Protocol):
    """What DesiredState.keys asks of a kind."""

    @property
    def name(self) -> str: ...

    def key_of(self, entry: Entry) -> str: ...


@dataclass(slots=True)
class LiveResource:
    """A resource as it exists in the account: its API id and its values in the config's shape. Built once
    and not changed after; slotted and not frozen, as an account of 100,000 numbers holds as many (a frozen
    dataclass's `__init__` takes three times as long)."""

    key: str
    id: str
    attrs: dict[str, Any]
    created_at: str = ""


def kept_ids(resources: Iterable[LiveResource], doomed: Collection[str | None]) -> dict[str, str]:
    """Key -> id of live resources but the doomed ones (a plan's deletes and replaces are never pointed at),
    the newest of a key winning: what apply resolves names with."""
    return {r.key: r.id for r in sorted(resources, key=lambda r: r.created_at) if r.id not in doomed}


@dataclass
class LiveState:
    """The account as fetched: owned resources per kind, and what each policy read (policies/)."""

    resources: dict[str, list[LiveResource]] = field(default_factory=dict)
    policies: dict[str, list[LiveResource]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {name: len(items) for name, items in self.resources.items()}


@dataclass(slots=True)
class Source:
    """Where an entry was written (one per entry: slotted and not frozen, as LiveResource). The line is looked
    up only when a message needs it."""

    file: str
    loc: tuple[int | str, ...] = ()
    doc: Document | None = field(default=None, compare=False, repr=False)

    @property
    def line(self) -> int | None:
        return self.doc.locate(self.loc)[0] if self.doc is not None else None

    def __str__(self) -> str:
        line = self.line
        return f"{self.file}:{line}" if line else self.file



@dataclass(kw_only=True)
class DesiredState:
    """What the config asks for: entries per kind (in file order), where each came from, the section of
    each policy the config sets (policies/) and where, and settings. `secrets` holds every sensitive value
    the entries carry, so that output can be checked for them. `fields_in_use` names, per kind, the fields
    any entry sets, top-level and (dotted) one level into nested settings: what `fetch` needs to read."""

    settings: ReconcilerSettings
    entries: dict[str, list[Entry]] = field(default_factory=dict)
    sources: dict[tuple[str, str], Source] = field(default_factory=dict)
    policies: dict[str, BaseModel] = field(default_factory=dict)
    policy_sources: dict[str, Source] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    state_path: Path | None = None  # see state.py; None: nothing in this config needs it
    secrets: set[str] = field(default_factory=set)
    fields_in_use: dict[str, frozenset[str]] = field(default_factory=dict)
    entry_keys: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)  # see keys()

    def keys(self, kind: Keyed) -> list[str]:
        """Each of a kind's entries' keys, in entry order: `entry_keys`, which the builder (config.py) fills
        as it adds each entry, else worked out once (a state whose entries were set another way). The diff,
        the check of unlisted keys and of --target keys each need them; for 100,000 numbers working them out
        again was a twentieth of a plan."""
        entries = self.entries.get(kind.name, [])
        keys = self.entry_keys.get(kind.name)
        if keys is None or len(keys) != len(entries):
            keys = self.entry_keys[kind.name] = [kind.key_of(e) for e in entries]
        return keys

    def count(self) -> int:
        """Entries and policies set (what `validate` counts)."""
        return sum(len(v) for v in self.entries.values()) + len(self.policies)

    def secret_values(self) -> set[str]:
        return set(self.secrets)
