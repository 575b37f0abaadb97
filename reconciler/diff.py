"""Pure comparison of desired and live state into changes. No I/O.

Only what the config sets is compared: a live value is projected onto the shape of the desired entry
(nested models included), so read-only fields, API defaults and fields the config leaves out never show up
as differences. `==` decides whether a pair differs; DeepDiff only describes the pairs that do.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.compare import desired_view, duplicates, field_changes, project, prune_change
from reconciler.errors import ConfigIssue
from reconciler.kinds import KINDS, Entry, Kind
from reconciler.kinds.base import KindDiff
from reconciler.order import kind_order
from reconciler.plan import Action, Attention, Change
from reconciler.state import Fingerprints
from reconciler.states import DesiredState, LiveResource, LiveState, Source


@dataclass
class DiffResult:
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attention: list[Attention] = field(default_factory=list)
    issues: list[ConfigIssue] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class _Context:
    """Answers kinds' questions about other kinds while the diff runs, in dependency order."""

    def __init__(self, desired: DesiredState, live: LiveState, fingerprints: Fingerprints | None) -> None:
        self.desired = desired
        self.live = live
        self.fingerprints = fingerprints or Fingerprints(None, os.urandom(32))
        self._keys_by_id = {name: {r.id: r.key for r in items} for name, items in live.resources.items()}
        self._live_keys = {name: {r.key for r in items} for name, items in live.resources.items()}
        self._doomed: dict[str, set[str]] = defaultdict(set)
        self._used: set[str] | None = None

    def key_of_id(self, kind: str, live_id: str) -> str | None:
        return self._keys_by_id.get(kind, {}).get(live_id)

    def doomed(self, kind: str, live_id: str) -> bool:
        return live_id in self._doomed[kind]

    def known(self, kind: str, key: str) -> bool:
        return (kind, key) in self.desired.sources or key in self._live_keys.get(kind, set())

    def removed(self, kind: str, key: str) -> bool:
        """Not in the config, and every live resource with this key is deleted by the plan (a pruned kind)."""
        if (kind, key) in self.desired.sources or key not in self._live_keys.get(kind, set()):
            return False
        return all(self.doomed(kind, r.id) for r in self.live.resources.get(kind, []) if r.key == key)

    def source(self, kind: str, key: str) -> Source | None:
        return self.desired.sources.get((kind, key))

    def fingerprint(self, kind: str, key: str, material: dict[str, Any]) -> str:
        return self.fingerprints.of(kind, key, material)

    def recorded(self, kind: str, key: str, live_id: str) -> str | None:
        return self.fingerprints.recorded(kind, key, live_id)

    def in_use(self, live_id: str) -> bool:
        """Whether a live resource of the account points at this id (a number's billing group or address)."""
        if self._used is None:
            self._used = {str(value) for items in self.live.resources.values() for r in items
                          for name, value in r.attrs.items() if name.endswith("_id") and value}
        return live_id in self._used

    def leftover(self, kind: str, live_id: str) -> bool:
        """Whether the tool's state records this resource as left over from one of its own replaces."""
        return live_id in self.fingerprints.leftover_ids(kind)

    def add(self, changes: list[Change]) -> None:
        for change in changes:
            if change.action.destroys and change.live_id:
                self._doomed[change.kind].add(change.live_id)


def diff(
    desired: DesiredState, live: LiveState, kinds: dict[str, Kind] | None = None, fingerprints: Fingerprints | None = None,
) -> DiffResult:
    """Every change that would make the live account match the config, kind by kind in dependency order.
    `fingerprints` are what the tool recorded of write-only values (state.py); without them such values
    count as unverified; they also hold the leftovers of the tool's own interrupted replaces, which the
    plan deletes (compare.duplicates)."""
    kinds = KINDS if kinds is None else kinds
    prune = set(desired.settings.prune)
    ctx = _Context(desired, live, fingerprints)
    result = DiffResult()
    for name in kind_order(kinds):
        if name not in live.resources:
            continue
        kind = kinds[name]
        entries = desired.entries.get(name, [])
        own = kind.diff(entries, live.resources[name], name in prune, ctx)
        if own is None:
            own = diff_kind(kind, entries, live.resources[name], name in prune, ctx)
        kind.review(own, entries, live.resources[name], ctx)
        own.issues.extend(_unresolved(kind, entries, ctx))
        own.issues.extend(_incomplete_creates(kind, own.changes, ctx))
        if kind.sensitive:
            own.changes = [replace(c, sensitive=kind.sensitive) for c in own.changes]
        ctx.add(own.changes)
        result.changes.extend(own.changes)
        result.notes.extend(own.notes)
        result.attention.extend(own.attention)
        result.issues.extend(own.issues)
        result.errors.extend(own.errors)
    return result


def _unresolved(kind: Kind, entries: list[Entry], ctx: _Context) -> list[ConfigIssue]:
    """Names of other kinds' resources that exist neither in the config nor in the account."""
    issues = []
    removed: dict[tuple[str, str], bool] = {}  # asked once per name, not once per number
    for entry in entries:
        for ref in kind.references(entry):
            title = KINDS[ref.kind].title if ref.kind in KINDS else ref.kind
            if (ref.kind, ref.key) not in removed:
                removed[(ref.kind, ref.key)] = ctx.removed(ref.kind, ref.key)
            if removed[(ref.kind, ref.key)]:
                problem = (f"{ref.field}: {title} {ref.key!r} is deleted by this plan ({ref.kind} is pruned and it is "
                           "no longer in the config) but is still used here",
                           f"keep it under `{ref.kind}:`, or point this at another {title} first")
            elif ctx.known(ref.kind, ref.key):
                continue
            else:
                problem = (f"{ref.field}: {title} {ref.key!r} exists neither in the config nor in the account",
                           f"define it under `{ref.kind}:` or correct the name")
            issues.append(_issue_at(ctx.source(kind.name, kind.key_of(entry)), kind.name, ref.field, *problem))
    return issues


def _issue_at(where: Source | None, kind: str, field_path: str, message: str, hint: str) -> ConfigIssue:
    line, column = (None, None)
    if where is not None and where.doc is not None:
        line, column = where.doc.locate((*where.loc[:-1], *field_path.split(".")))
    return ConfigIssue(where.file if where else kind, line, column, message, hint)


def _incomplete_creates(kind: Kind, changes: list[Change], ctx: _Context) -> list[ConfigIssue]:
    """Creates the API would refuse: the entry lacks fields the spec's create request requires. An entry
    that adopts an existing resource may leave them out; one that creates it may not."""
    issues = []
    for change in changes:
        absent = kind.missing_for_create(change.after or {}) if change.action is Action.CREATE or change.action.replaces else []
        if not absent:
            continue
        where = ctx.source(kind.name, change.key)
        line, column = where.doc.locate(where.loc) if where is not None and where.doc is not None else (None, None)
        doing = "is not in the account, and creating it" if change.action is Action.CREATE else "would be replaced, and the new one"
        issues.append(ConfigIssue(
            where.file if where else kind.name, line, column,
            f"{kind.title} {change.key!r} {doing} needs {', '.join(absent)}, which the entry leaves out",
            "add them: the API requires them to create it (an entry without them can only adopt one that exists)",
        ))
    return issues


def diff_kind(kind: Kind, entries: list[Entry], live: list[LiveResource], prune: bool, ctx: _Context) -> KindDiff:
    by_key: dict[str, list[LiveResource]] = defaultdict(list)
    for resource in live:
        by_key[resource.key].append(resource)
    result = KindDiff()
    for entry in entries:
        key = kind.key_of(entry)
        candidates = by_key.pop(key, [])
        current, extras = _pick(kind, entry, candidates, ctx)
        if current is not None:
            duplicates(kind, key, current, extras, prune, ctx, result)
        change = _compare(kind, entry, current)
        if change is not None:
            result.changes.append(change)
    if prune:
        result.changes.extend(prune_change(kind, resource) for resources in by_key.values() for resource in resources)
    else:
        result.notes.extend(f"{kind.name}[{key}]: {len(held)} resources in the account have this key, not in the config "
                            f"({', '.join(r.id for r in held)})" for key, held in by_key.items() if len(held) > 1)
    return result


def _pick(kind: Kind, entry: Entry, candidates: list[LiveResource], ctx: _Context) -> tuple[LiveResource | None, list[LiveResource]]:
    """The live resource an entry manages (one holding its values, else one in use, else the newest);
    further ones with the same key are duplicates."""
    if len(candidates) <= 1:
        return (candidates[0] if candidates else None), []
    wanted = desired_view(kind, entry)
    chosen = max(candidates, key=lambda c: (project(c.attrs, wanted, kind.model) == wanted, ctx.in_use(c.id), c.created_at))
    return chosen, [c for c in candidates if c is not chosen]


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
            kind.name, key, kind.replace_action, current, entry.managed(), tuple(fields), reason, live.id, entry.prevent_destroy
        )
    return Change(kind.name, key, Action.UPDATE, current, wanted, tuple(fields), "", live.id, entry.prevent_destroy)


