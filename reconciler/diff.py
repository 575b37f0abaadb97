"""Pure comparison of desired and live state into changes. No I/O.

Only what the config sets is compared: a live value is projected onto the shape of the desired entry
(nested models included), so read-only fields, API defaults and fields the config leaves out never show up
as differences. `==` decides whether a pair differs; DeepDiff only describes the pairs that do.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from deepdiff import DeepDiff
from pydantic import BaseModel

from reconciler.config import DesiredState
from reconciler.kinds import KINDS, Entry, Kind, LiveResource
from reconciler.plan import Action, Change, FieldChange


@dataclass
class LiveState:
    """The account as fetched: owned resources per kind."""

    resources: dict[str, list[LiveResource]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {name: len(items) for name, items in self.resources.items()}


def diff(desired: DesiredState, live: LiveState, kinds: dict[str, Kind] | None = None) -> list[Change]:
    """Every change that would make the live account match the config, kind by kind."""
    kinds = KINDS if kinds is None else kinds
    prune = set(desired.settings.prune)
    changes: list[Change] = []
    for name, kind in kinds.items():
        if name in live.resources:
            changes.extend(diff_kind(kind, desired.entries.get(name, []), live.resources[name], name in prune))
    return changes


def diff_kind(kind: Kind, entries: list[Entry], live: list[LiveResource], prune: bool) -> list[Change]:
    by_key: dict[str, list[LiveResource]] = defaultdict(list)
    for resource in live:
        by_key[resource.key].append(resource)
    changes: list[Change] = []
    for entry in entries:
        key = kind.key_of(entry)
        candidates = by_key.pop(key, [])
        current, extras = _pick(kind, entry, candidates)
        changes.extend(_duplicate(kind, extra, key) for extra in extras)
        change = _compare(kind, entry, current)
        if change is not None:
            changes.append(change)
    if prune:
        changes.extend(_prune(kind, resource) for resources in by_key.values() for resource in resources)
    return changes


def _pick(kind: Kind, entry: Entry, candidates: list[LiveResource]) -> tuple[LiveResource | None, list[LiveResource]]:
    """The live resource an entry manages; further ones with the same key are leftovers to remove."""
    if len(candidates) <= 1:
        return (candidates[0] if candidates else None), []
    wanted = desired_view(kind, entry)
    matching = [c for c in candidates if project(c.attrs, wanted, kind.model) == wanted]
    chosen = matching[0] if matching else max(candidates, key=lambda c: c.created_at)
    return chosen, [c for c in candidates if c is not chosen]


def desired_view(kind: Kind, entry: Entry) -> dict[str, Any]:
    return {k: v for k, v in entry.managed().items() if k not in kind.create_only}


def project(live: dict[str, Any], wanted: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """The live values at the places `wanted` sets, descending into nested models."""
    view: dict[str, Any] = {}
    for name, value in wanted.items():
        current = live.get(name)
        sub = _nested_model(model, name)
        if sub is not None and isinstance(value, dict) and isinstance(current, dict):
            view[name] = project(current, value, sub)
        else:
            view[name] = current
    return view


def _nested_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    info = model.model_fields.get(name)
    if info is None:
        return None
    for candidate in (info.annotation, *getattr(info.annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _compare(kind: Kind, entry: Entry, live: LiveResource | None) -> Change | None:
    key = kind.key_of(entry)
    if live is None:
        return Change(kind.name, key, Action.CREATE, None, entry.managed(), reason="not in the account")
    wanted = desired_view(kind, entry)
    current = project(live.attrs, wanted, kind.model)
    if current == wanted:
        return None
    fields = field_changes(current, wanted)
    top = {f.path.split(".")[0] for f in fields}
    if kind.immutable is None or top & kind.immutable:
        reason = kind.replace_reason or f"{', '.join(sorted(top & (kind.immutable or top)))} cannot change in place"
        return Change(
            kind.name, key, Action.REPLACE, current, entry.managed(), tuple(fields), reason, live.id, entry.prevent_destroy
        )
    return Change(kind.name, key, Action.UPDATE, current, wanted, tuple(fields), "", live.id, entry.prevent_destroy)


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    """Each changed value as a dotted path with its old and new value, in a stable order."""
    tree = DeepDiff(before, after, view="tree", verbose_level=2)
    found = []
    for group in tree.values():
        for level in group:
            path = ".".join(str(p) for p in level.path(output_format="list"))
            found.append(FieldChange(path, _plain(level.t1), _plain(level.t2)))
    return sorted(found, key=lambda f: f.path)


def _plain(value: Any) -> Any:
    return None if type(value).__name__ == "NotPresent" else value


def _duplicate(kind: Kind, resource: LiveResource, key: str) -> Change:
    reason = f"another {kind.title} with the same key {key!r} is the managed one (left over from an interrupted replace?)"
    return Change(kind.name, key, Action.DELETE, resource.attrs, None, (), reason, resource.id)


def _prune(kind: Kind, resource: LiveResource) -> Change:
    reason = f"not in the config, and {kind.name} is listed under reconciler.prune"
    return Change(kind.name, resource.key, Action.DELETE, resource.attrs, None, (), reason, resource.id)
