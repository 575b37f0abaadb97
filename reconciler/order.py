"""Pure ordering: kinds by their declared dependencies, changes in the order apply must make them.

Creates and updates go in dependency order (a billing group before the numbers that use it), deletes in
reverse. A create-before-delete replace is split: the new resource is created with the creates, the old
one deleted with the deletes, so nothing that points at it is ever left pointing at nothing. `steps` needs
only the plan: each change's action says its order, and the plan carries the kind order it was made with.
"""

from __future__ import annotations

from graphlib import TopologicalSorter

from reconciler.kinds import KINDS, Kind
from reconciler.plan import Action, Change, Op, Plan, Step


def kind_order(kinds: dict[str, Kind] | None = None) -> list[str]:
    """Kind names, each after the kinds it depends on; ties broken by name so the order is stable."""
    kinds = KINDS if kinds is None else kinds
    sorter = TopologicalSorter({name: set(kind.depends_on) & kinds.keys() for name, kind in sorted(kinds.items())})
    return list(sorter.static_order())


def order_changes(changes: list[Change], kinds: dict[str, Kind] | None = None) -> tuple[Change, ...]:
    """Display order: non-deletes by kind dependency, then deletes in reverse; keys sorted within a kind."""
    rank = {name: i for i, name in enumerate(kind_order(kinds))}

    def sort_key(change: Change) -> tuple[int, int, str]:
        if change.action is Action.DELETE:
            return (1, -rank[change.kind], change.key)
        return (0, rank[change.kind], change.key)

    return tuple(sorted(changes, key=sort_key))


def steps(plan: Plan) -> list[Step]:
    """The calls apply makes, in order, from the plan alone: creates, updates and delete-before-create pairs
    in the plan's order; then deletes, and the old halves of create-before-delete replaces, dependents
    first (the reverse of the plan's kind order)."""
    first: list[Step] = []
    last: list[Step] = []
    for change in plan.changes:
        if change.action is Action.CREATE:
            first.append(Step(change, Op.CREATE))
        elif change.action is Action.UPDATE:
            first.append(Step(change, Op.UPDATE))
        elif change.action is Action.DELETE:
            last.append(Step(change, Op.DELETE))
        elif change.action is Action.DELETE_BEFORE_CREATE:
            first.extend((Step(change, Op.DELETE), Step(change, Op.CREATE)))
        else:
            first.append(Step(change, Op.CREATE))
            last.append(Step(change, Op.DELETE))
    rank = {name: i for i, name in enumerate(plan.kind_order)}
    last.sort(key=lambda s: -rank.get(s.change.kind, len(rank)))
    return first + last
