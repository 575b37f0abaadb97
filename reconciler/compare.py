"""Pure comparison helpers of the one diff (diff.py): what an entry asks for, the live values at the same
places, the field-level differences between the two, and the deletes of live resources no entry manages.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from reconciler.plan import Action, Change, FieldChange

if TYPE_CHECKING:
    from reconciler.kinds.base import DiffContext, Entry, Kind, KindDiff
    from reconciler.states import LiveResource


def desired_view(kind: Kind, entry: Entry) -> dict[str, Any]:
    """What an entry asks for, as compared with the account (create-only and control fields left out)."""
    hidden = kind.create_only | kind.control_fields
    managed = entry.managed()
    return {k: v for k, v in managed.items() if k not in hidden} if not hidden.isdisjoint(managed) else managed


def project(live: dict[str, Any], wanted: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """The live values at the places `wanted` sets, descending into nested models."""
    view: dict[str, Any] = {}
    for name, value in wanted.items():
        current = live.get(name)
        if isinstance(value, dict) and isinstance(current, dict) and (sub := nested_model(model, name)) is not None:
            view[name] = project(current, value, sub)
        else:
            view[name] = current
    return view


@cache  # asked for each settings group of every entry; a model's fields do not change
def nested_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The model of a field that holds a nested one (in a union with None, say); None for any other field."""
    info = model.model_fields.get(name)
    if info is None:
        return None
    for candidate in (info.annotation, *getattr(info.annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def duplicates(kind: Kind, key: str, chosen: LiveResource, extras: list[LiveResource], prune: bool,
               ctx: DiffContext, result: KindDiff) -> None:
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
