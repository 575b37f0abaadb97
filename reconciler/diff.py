"""Pure comparison of desired and live state into changes. No I/O. This is the only diff: no kind
compares by itself.

For each kind, in dependency order, the loop pairs each entry with the live resource of its key (of
several, the one the kind picks; the others are duplicates, duplicates, below) and turns each pair into a
change, or none. The kind declares what the loop needs and plugs in through narrow hooks (kinds/base.py
lists them): the fields that name other kinds' resources (`names`: the loop shows each live id by its
name), groups the API flattens (`flattened`), write-only fields compared by fingerprint (fingerprint.py),
whether a missing resource may be created (`never_created`), a live resource left alone while it is in
some state (`left_alone`), the field by which an entry asks for a delete (`removal_field`; only then is the
kind asked, `removal`), and `review` of what the loop found. Only what the config sets is compared, so
read-only fields, API defaults and fields the config leaves out never show up as differences. `==` decides
whether a pair differs, and only the pairs that do are described field by field (field_changes).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any

from reconciler import fingerprint
from reconciler.compare import nested_model, project
from reconciler.errors import ConfigIssue
from reconciler.kinds import KINDS, Entry, Kind
from reconciler.kinds.base import KindDiff, NameRef, Removal, Reviews
from reconciler.order import kind_order
from reconciler.plan import Action, Attention, Change, FieldChange
from reconciler.state import Fingerprints
from reconciler.states import DesiredState, LiveResource, LiveState, Source
from reconciler.text import shortened

SHOWN_PER_NOTE = 20  # keys listed in a note before " and N more"


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
        self._keys_by_id: dict[str, dict[str, str]] = {}  # kind -> live id -> key, made when first asked
        self._live_keys: dict[str, set[str]] = {}  # kind -> keys in the account, made when first asked
        self._names: dict[tuple[str, str], str] = {}  # (kind, live id) -> what a view shows for it
        self._doomed: dict[str, set[str]] = defaultdict(set)
        self._used: set[str] | None = None

    def key_of_id(self, kind: str, live_id: str) -> str | None:
        keys = self._keys_by_id.get(kind)
        if keys is None:  # asked of the kinds other kinds name (a few billing groups), not of every kind
            keys = self._keys_by_id[kind] = {r.id: r.key for r in self.live.resources.get(kind, [])}
        return keys.get(live_id)

    def name_of(self, kind: str, live_id: str | None) -> str | None:
        """A named resource's name, marked when the plan deletes it (so that what uses it is moved), or the
        words for an id no resource the tool reads has. Worked out once per id: a kind is compared after
        the kinds it names, whose deletes are known by then, and 100,000 numbers name a few of them."""
        if not live_id:
            return None
        name = self._names.get((kind, live_id))
        if name is None:
            key = self.key_of_id(kind, live_id)
            if key is None:
                name = f"(unnamed {KINDS[kind].title if kind in KINDS else kind} {live_id})"
            else:
                name = f"{key} (being replaced)" if self.doomed(kind, live_id) else key
            self._names[(kind, live_id)] = name
        return name

    def live_keys(self, kind: str) -> set[str]:
        keys = self._live_keys.get(kind)
        if keys is None:
            keys = self._live_keys[kind] = {r.key for r in self.live.resources.get(kind, [])}
        return keys

    def doomed(self, kind: str, live_id: str) -> bool:
        return live_id in self._doomed[kind]

    def any_doomed(self, kind: str) -> bool:
        return bool(self._doomed[kind])

    def known(self, kind: str, key: str) -> bool:
        return (kind, key) in self.desired.sources or key in self.live_keys(kind)

    def removed(self, kind: str, key: str) -> bool:
        """Not in the config, and every live resource with this key is deleted by the plan (a pruned kind)."""
        if (kind, key) in self.desired.sources or key not in self.live_keys(kind):
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
    plan deletes (duplicates, below)."""
    kinds = KINDS if kinds is None else kinds
    prune = set(desired.settings.prune)
    ctx = _Context(desired, live, fingerprints)
    result = DiffResult()
    for name in kind_order(kinds):
        if name not in live.resources:
            continue
        kind = kinds[name]
        entries = desired.entries.get(name, [])
        keys = desired.keys(kind)
        own = diff_kind(kind, entries, keys, live.resources[name], name in prune, ctx)
        own.notes.extend(_moves(kind, live.resources[name], own.changes, ctx))
        if isinstance(kind, Reviews):
            kind.review(own, entries, live.resources[name], ctx)
        own.issues.extend(_unresolved(kind, entries, keys, ctx))
        own.issues.extend(_incomplete_creates(kind, own.changes, ctx))
        if kind.sensitive:  # the loop's changes have it from the start; those a kind's hooks built may not
            own.changes = [c if c.sensitive == kind.sensitive else replace(c, sensitive=kind.sensitive) for c in own.changes]
        ctx.add(own.changes)
        result.changes.extend(own.changes)
        result.notes.extend(own.notes)
        result.attention.extend(own.attention)
        result.issues.extend(own.issues)
        result.errors.extend(own.errors)
    return result


def _unresolved(kind: Kind, entries: list[Entry], keys: list[str], ctx: _Context) -> list[ConfigIssue]:
    """Names of other kinds' resources that exist neither in the config nor in the account, or that the plan
    deletes. Each distinct name is checked once; the entries are gone through again only to place what is
    wrong (a large account names a few billing groups from 100,000 numbers)."""
    named = {ref: _named(entries, ref) for ref in kind.names}
    wrong = {ref: found for ref, names in named.items() if (found := _name_problems(ref, set(names), ctx))}
    issues = []
    for index, key in enumerate(keys if wrong else ()):
        for ref, problems in wrong.items():
            problem = problems.get(named[ref][index])
            if problem is not None:
                issues.append(_issue_at(ctx.source(kind.name, key), kind.name, ref.field, *problem))
    return issues


def _name_problems(ref: NameRef, names: set[str | None], ctx: _Context) -> dict[str | None, tuple[str, str]]:
    """What is wrong with each of these names of `ref.kind`'s resources, for those where something is."""
    title = KINDS[ref.kind].title if ref.kind in KINDS else ref.kind
    problems = {}
    for name in names - {None}:
        if ctx.removed(ref.kind, str(name)):
            problems[name] = (f"{ref.field}: {title} {name!r} is deleted by this plan ({ref.kind} is pruned and it is "
                              "no longer in the config) but is still used here",
                              f"keep it under `{ref.kind}:`, or point this at another {title} first")
        elif not ctx.known(ref.kind, str(name)):
            problems[name] = (f"{ref.field}: {title} {name!r} exists neither in the config nor in the account",
                              f"define it under `{ref.kind}:` or correct the name")
    return problems


def _moves(kind: Kind, live: list[LiveResource], changes: list[Change], ctx: _Context) -> list[str]:
    """For a named resource this plan replaces (a `names` field that says what it is `used_for`): the order
    in which apply moves what uses it, and those the config leaves on the old one, whose delete then fails."""
    notes = []
    for ref in kind.names:
        if not ref.used_for or not ctx.any_doomed(ref.kind):
            continue
        title = KINDS[ref.kind].title if ref.kind in KINDS else ref.kind
        moving = {c.key for c in changes if any(f.path.split(".")[0] == ref.parts[0] for f in c.fields)}
        users: dict[str, list[str]] = defaultdict(list)
        for resource in live:
            live_id = resource.attrs.get(ref.live_id)
            if live_id and ctx.doomed(ref.kind, live_id):
                users[ctx.key_of_id(ref.kind, live_id) or live_id].append(resource.key)
        for name, using in sorted(users.items()):
            stuck = [key for key in using if key not in moving]
            notes.append(f"{title} {name!r} is replaced and {len(using)} {kind.title}(s) use it {ref.used_for}: apply "
                         f"creates the new {title} first, moves {len(using) - len(stuck)} of them to it, and deletes the "
                         f"old one last, so none of them is left without one.")
            if stuck:
                notes.append(f"{len(stuck)} of them are not moved by the config and keep the old {title}, so deleting "
                             f"it will fail until they move: {shortened(stuck, SHOWN_PER_NOTE)}")
    return notes


def _named(entries: list[Entry], ref: NameRef) -> list[str | None]:
    """The name of another kind's resource that each entry writes at a `names` field (None where it writes
    none), read in C for a large config."""
    top, inside = ref.parts
    values = list(map(attrgetter(top), entries))
    if inside:
        values = [getattr(value, inside, None) for value in values]
    return [value or None for value in values]


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


def diff_kind(kind: Kind, entries: list[Entry], keys: list[str], live: list[LiveResource], prune: bool, ctx: _Context) -> KindDiff:
    """One kind's changes: each entry against the live resource of its key (`keys`, in entry order), then the
    live ones no entry has."""
    first: dict[str, LiveResource] = {}  # key -> the live resource listed first with it
    more: dict[str, list[LiveResource]] = {}  # key -> the others listed with it (a list for each would cost
    for resource in live:                     # a tenth of comparing 100,000 numbers)
        if first.setdefault(resource.key, resource) is not resource:
            more.setdefault(resource.key, []).append(resource)
    result = KindDiff()
    absent: list[str] = []
    held: dict[str, list[str]] = defaultdict(list)  # words of left_alone -> keys
    for entry, key in zip(entries, keys, strict=True):
        current = first.pop(key, None)
        extras: list[LiveResource] = []
        if current is not None and key in more:
            current, extras = _pick(kind, entry, [current, *more.pop(key)], ctx)
        if current is None:
            absent.append(key)
            if not kind.never_created:
                result.changes.append(Change(kind.name, key, Action.CREATE, None, entry.managed(), reason="not in the account",
                                             sensitive=kind.sensitive))
            continue
        if extras:
            duplicates(kind, key, current, extras, prune, ctx, result)
        change = _change(kind, entry, current, ctx, result)
        why_not = kind.left_alone(current) if change is not None else None
        if why_not:
            held[why_not].append(key)
        elif change is not None:
            result.changes.append(change)
    _not_changed(kind, absent, held, result)
    _unlisted(kind, {key: [resource, *more.get(key, [])] for key, resource in first.items()}, prune, result)
    return result


def _change(kind: Kind, entry: Entry, live: LiveResource, ctx: _Context, result: KindDiff) -> Change | None:
    """What an entry asks of its live resource: the delete it asks for, else what comparing them finds."""
    if kind.removal_field and getattr(entry, kind.removal_field):
        return _removal(kind, entry, live, kind.removal(live), result)
    return _compare(kind, entry, live, ctx, result)


def _not_changed(kind: Kind, absent: list[str], held: dict[str, list[str]], result: KindDiff) -> None:
    """Entries without a live resource in a kind that is never created (an error), and live resources that
    differ but are left alone (a note for each reason)."""
    if absent and kind.never_created:
        result.errors.append(f"{len(absent)} {kind.title}(s) in the config are not in the account ({kind.never_created}): "
                             f"{', '.join(absent)}")
    result.notes.extend(f"{len(keys)} {kind.title}(s) differ from the config but {words}: {shortened(keys, SHOWN_PER_NOTE)}"
                        for words, keys in sorted(held.items()))


def _unlisted(kind: Kind, by_key: dict[str, list[LiveResource]], prune: bool, result: KindDiff) -> None:
    """Live resources no entry manages: deleted in a pruned kind, else noted where several share a key."""
    if prune:
        result.changes.extend(prune_change(kind, resource) for resources in by_key.values() for resource in resources)
    else:
        result.notes.extend(f"{kind.name}[{key}]: {len(held)} resources in the account have this key, not in the config "
                            f"({', '.join(r.id for r in held)})" for key, held in by_key.items() if len(held) > 1)


def _pick(kind: Kind, entry: Entry, candidates: list[LiveResource], ctx: _Context) -> tuple[LiveResource, list[LiveResource]]:
    """Of several live resources with an entry's key, the one it manages (the newest where the kind says so;
    else one holding its values, else one in use, else the newest); the others are duplicates."""
    if kind.pick_newest:
        ordered = sorted(candidates, key=lambda c: c.created_at)
        return ordered[-1], ordered[:-1]
    wanted = kind.desired_view(entry)
    chosen = max(candidates, key=lambda c: (live_view(kind, c.attrs, wanted, ctx) == wanted, ctx.in_use(c.id), c.created_at))
    return chosen, [c for c in candidates if c is not chosen]


def _compare(kind: Kind, entry: Entry, live: LiveResource, ctx: _Context, result: KindDiff) -> Change | None:
    """An update or a replace when the live view differs from what the entry asks for; else None."""
    wanted = kind.desired_view(entry)
    current = live_view(kind, live.attrs, wanted, ctx)
    # most entries set no write-only field: one set operation, and no call, for each of 100,000 numbers
    written = fingerprint.MATCHED if kind.fingerprinted.isdisjoint(wanted) else \
        fingerprint.compare(kind, entry, live, wanted, current, ctx)
    if written.note:
        result.notes.append(written.note)
    if current == wanted:
        return None
    fields = field_changes(current, wanted)
    top = {f.path.split(".")[0] for f in fields}
    if kind.immutable is None or top & kind.immutable:
        reason = written.reason or kind.replace_reason or f"{', '.join(sorted(top & (kind.immutable or top)))} cannot change in place"
        return replace_change(kind, entry, live, current, fields, reason)
    return Change(kind.name, live.key, Action.UPDATE, current, wanted, tuple(fields), written.reason, live.id,
                  entry.prevent_destroy, sensitive=kind.sensitive)


def live_view(kind: Kind, attrs: dict[str, Any], wanted: dict[str, Any], ctx: _Context) -> dict[str, Any]:
    """The live values in the config's words at the places `wanted` sets: groups the API flattens gathered,
    ids of other kinds' resources shown by their names."""
    view = project(attrs, wanted, kind.model)
    for group in kind.flattened:
        if group in wanted:
            view[group] = _gathered(kind, attrs, group, wanted[group])
    for ref in kind.names:
        top, inside = ref.parts
        if top not in view:
            continue
        if not inside:
            view[top] = ctx.name_of(ref.kind, attrs.get(ref.live_id))
        elif top in kind.flattened and inside in view[top]:  # the group was gathered above, for this view
            view[top][inside] = ctx.name_of(ref.kind, attrs.get(ref.live_id))
    return view


def _gathered(kind: Kind, attrs: dict[str, Any], group: str, wanted: Any) -> dict[str, Any]:
    """A flattened group in the config's shape: `{group}_{setting}` of the live attributes, at the settings
    `wanted` sets (all of them when it sets the group as a whole)."""
    model = None if isinstance(wanted, dict) else nested_model(kind.model, group)
    gathered = {}
    for name in model.model_fields if model is not None else wanted or {}:
        gathered[name] = attrs.get(f"{group}_{name}")
    return gathered


def replace_change(kind: Kind, entry: Entry, live: LiveResource, current: dict[str, Any], fields: list[FieldChange],
                   reason: str) -> Change:
    """The one place a replace is built: the live resource goes, one with the entry's values comes."""
    return Change(kind.name, live.key, kind.replace_action, current, entry.managed(), tuple(fields), reason, live.id,
                  entry.prevent_destroy, sensitive=kind.sensitive)


def _removal(kind: Kind, entry: Entry, live: LiveResource, asked: Removal, result: KindDiff) -> Change | None:
    """The delete an entry asks for, or the note of why the tool will not make it."""
    if asked.refused:
        result.notes.append(asked.refused)
        return None
    return Change(kind.name, live.key, Action.DELETE, {kind.key_field: live.key}, None, (), asked.reason, live.id,
                  entry.prevent_destroy, irreversible=asked.irreversible)


def duplicates(kind: Kind, key: str, chosen: LiveResource, extras: list[LiveResource], prune: bool,
               ctx: _Context, result: KindDiff) -> None:
    """Further live resources holding the key of the managed one: deleted only in a pruned kind or when
    the tool's own state records them as leftovers of its replace, and never while anything uses them;
    otherwise a note naming them."""
    removable = [e for e in extras if (prune or ctx.leftover(kind.name, e.id)) and not ctx.in_use(e.id)]
    result.changes.extend(duplicate_change(kind, e, key, chosen, prune) for e in removable)
    kept = [e for e in extras if e not in removable]
    if not kept:
        return
    used = [e.id for e in kept if ctx.in_use(e.id)]
    why = (f"in use ({', '.join(used)})" if used else
           f"list {kind.name} under reconciler.prune to have apply delete the others")
    result.notes.append(
        f"{kind.name}[{key}]: {len(extras) + 1} resources in the account have this key "
        f"({', '.join([chosen.id, *(e.id for e in extras)])}); "
        f"the config manages {chosen.id}; {', '.join(e.id for e in kept)} left alone: {why}."
    )


def duplicate_change(kind: Kind, resource: LiveResource, key: str, chosen: LiveResource, prune: bool) -> Change:
    """Delete a further live resource with the key of a managed one."""
    why = (f"{kind.name} is listed under reconciler.prune" if prune else
           "this one is the leftover of an interrupted replace, as the tool's state file records")
    reason = f"another {kind.title} with the same key {key!r} ({chosen.id}) is the managed one; {why}"
    return Change(kind.name, key, Action.DELETE, resource.attrs, None, (), reason, resource.id, sensitive=kind.sensitive)


def prune_change(kind: Kind, resource: LiveResource) -> Change:
    """Delete a live resource the config does not list, in a kind listed under `reconciler.prune`."""
    reason = f"not in the config, and {kind.name} is listed under reconciler.prune"
    return Change(kind.name, resource.key, Action.DELETE, resource.attrs, None, (), reason, resource.id, sensitive=kind.sensitive)


def field_changes(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[FieldChange]:
    """Each changed value as a dotted path with its old and new value, in a stable order. Only pairs that
    differ get here, and each value is compared with `==` first, so a large account pays for what changed
    alone: a mapping on both sides is descended into; any other value (a tag set, say) is shown whole,
    before and after. The keys are those of `after`, as `before` is the live view at its places."""
    found: list[FieldChange] = []
    for name in sorted(after):
        old, new = before.get(name), after[name]
        if old == new:
            continue
        inner = field_changes(old, new, f"{prefix}{name}.") if isinstance(old, dict) and isinstance(new, dict) else []
        found.extend(inner or [FieldChange(f"{prefix}{name}", old, new)])  # a live mapping with more keys: whole
    return found
