"""The plan: inert data describing what apply would do, and the safety check on it. No I/O here.

A Plan is produced by diff + order and consumed by render (to show it) and apply (to do it). It can be
written to a file and read back; its checksum pins exactly what a reviewer saw.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any

from reconciler.errors import UnsafePlanError
from reconciler.text import shortened

PLAN_FORMAT_VERSION = 2  # 2: replace split into create-before-delete and delete-before-create; kind_order
SENSITIVE = "(sensitive)"  # shown in place of a secret value, everywhere a change is shown or saved


class Action(str, Enum):
    """What happens to one resource. A replace says its order: the new one is created before the old one is
    deleted (things point at it), or the old one is deleted first (its key is unique in the account)."""

    CREATE = "create"
    UPDATE = "update"
    CREATE_BEFORE_DELETE = "create-before-delete"
    DELETE_BEFORE_CREATE = "delete-before-create"
    DELETE = "delete"

    @property
    def symbol(self) -> str:
        return SYMBOLS[self]

    @property
    def replaces(self) -> bool:
        return self in (Action.CREATE_BEFORE_DELETE, Action.DELETE_BEFORE_CREATE)

    @property
    def destroys(self) -> bool:
        return self is Action.DELETE or self.replaces

    @property
    def counted_as(self) -> str:
        """The summary's word for it: both orders of a replace count as `replace`."""
        return "replace" if self.replaces else self.value


SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.CREATE_BEFORE_DELETE: "+/-", Action.DELETE_BEFORE_CREATE: "-/+",
           Action.DELETE: "-"}
SUMMARY_KEYS = ("create", "update", "replace", "delete")  # the display order of a summary


@dataclass(frozen=True)
class FieldChange:
    """One changed value, addressed by a dotted path inside the resource (e.g. `settings.idp_entity_id`)."""

    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Change:
    """One resource's change. `reason` explains it to people and is never used to decide anything.

    `sensitive` names top-level fields whose values are secrets (integration secret tokens, phone number
    PINs). The real values stay in memory for apply; `to_dict`, and so every renderer and plan file, shows
    `(sensitive)` instead.
    """

    kind: str
    key: str
    action: Action
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    fields: tuple[FieldChange, ...] = ()
    reason: str = ""
    live_id: str | None = None
    protected: bool = False
    irreversible: bool = False  # cannot be undone by another apply (a released phone number is gone)
    sensitive: frozenset[str] = frozenset()

    @property
    def address(self) -> str:
        return f"{self.kind}[{self.key}]"

    def shown(self, values: dict[str, Any] | None) -> dict[str, Any] | None:
        """`values` with every sensitive field's value replaced by `(sensitive)`."""
        if values is None or not self.sensitive:
            return values
        return {k: SENSITIVE if k in self.sensitive and v is not None else v for k, v in values.items()}

    def shown_fields(self) -> tuple[FieldChange, ...]:
        if not self.sensitive:
            return self.fields
        return tuple(
            FieldChange(f.path, SENSITIVE, SENSITIVE) if f.path.split(".")[0] in self.sensitive else f
            for f in self.fields
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "action": self.action.value,
            "live_id": self.live_id,
            "before": self.shown(self.before),
            "after": self.shown(self.after),
            "changed_fields": [asdict(f) for f in self.shown_fields()],
            "reason": self.reason,
            "protected": self.protected,
            "irreversible": self.irreversible,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        return cls(
            kind=data["kind"],
            key=data["key"],
            action=Action(data["action"]),
            before=data["before"],
            after=data["after"],
            fields=tuple(FieldChange(**f) for f in data["changed_fields"]),
            reason=data.get("reason", ""),
            live_id=data.get("live_id"),
            protected=data.get("protected", False),
            irreversible=data.get("irreversible", False),
        )


@dataclass(frozen=True)
class Attention:
    """Something in the account that the config leaves to a person, with its deadline if it has one
    (a pending port-out no policy rule decides). Not a change: apply does nothing about it; drift reports it."""

    kind: str
    key: str
    message: str
    deadline: str | None = None  # ISO 8601, UTC
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"{self.kind}[{self.key}]"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "message": self.message, "deadline": self.deadline,
                "details": self.details}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attention:
        return cls(data["kind"], data["key"], data["message"], data.get("deadline"), dict(data.get("details") or {}))


class Op(str, Enum):
    """One call-level operation of an apply; a replace is a CREATE and a DELETE."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class Step:
    change: Change
    op: Op


@dataclass(frozen=True)
class Plan:
    """Ordered changes plus what they were computed from. `live_counts` feed the safety check."""

    changes: tuple[Change, ...]
    live_counts: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    attention: tuple[Attention, ...] = ()
    # The kinds in dependency order (each after those it points at): with the actions, all that apply needs
    # to order its calls (order.steps). Kinds it leaves out rank after those it names.
    kind_order: tuple[str, ...] = ()
    # Ids of the live resources that changes may name (kind -> key -> id, of the kinds other kinds name, the
    # ones the plan keeps), as the plan read them: apply resolves names from these instead of reading the
    # account again. Not in the plan's JSON or checksum; a saved plan is applied through a fresh plan of the
    # same checksum (cli apply), which carries them, and a plan without them has apply read them.
    ids: Mapping[str, Mapping[str, str]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def in_sync(self) -> bool:
        """Nothing to apply and nothing waiting for a person."""
        return not self.changes and not self.attention

    @property
    def empty(self) -> bool:
        return not self.changes

    def summary(self) -> dict[str, int]:
        counts = Counter(c.action.counted_as for c in self.changes)
        return {word: counts.get(word, 0) for word in SUMMARY_KEYS}

    @cached_property  # a frozen plan's checksum never changes, and covers every change: computed once
    def checksum(self) -> str:
        """sha256 over what the changes do, in canonical JSON: equal plans have equal checksums. The words
        for people (`reason`) are left out, so a reason that counts down (time left) does not stale a plan."""
        done = [{k: v for k, v in c.to_dict().items() if k != "reason"} for c in self.changes]
        canonical = json.dumps(done, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "checksum": self.checksum,
            "summary": self.summary(),
            "changes": [c.to_dict() for c in self.changes],
            "notes": list(self.notes),
            "attention": [a.to_dict() for a in self.attention],
            "live_counts": self.live_counts,
            "kind_order": list(self.kind_order),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return cls(
            changes=tuple(Change.from_dict(c) for c in data["changes"]),
            live_counts=dict(data.get("live_counts", {})),
            notes=tuple(data.get("notes", ())),
            attention=tuple(Attention.from_dict(a) for a in data.get("attention", ())),
            kind_order=tuple(str(name) for name in data.get("kind_order", ())),
        )


@dataclass(frozen=True)
class SafetyLimits:
    """octoDNS-style thresholds: refuse to touch more than a share of a kind's live resources at once."""

    update_threshold: float = 0.3
    delete_threshold: float = 0.3
    min_existing: int = 10


def check_safety(plan: Plan, limits: SafetyLimits, force: bool = False, allow_irreversible: bool = False,
                 max_irreversible_updates: int | None = None) -> None:
    """Raise UnsafePlanError if the plan destroys a protected resource, does what cannot be undone without
    being allowed to, sends more irreversible updates (port-out authorizations) than one run may, or (unless
    forced) changes too much at once."""
    protected = [c.address for c in plan.changes if c.protected and c.action.destroys]
    if protected:
        raise UnsafePlanError(
            f"the plan would destroy resources marked prevent_destroy: {', '.join(protected)}",
            "Change the config so these are not replaced or deleted, or remove prevent_destroy from them first.",
        )
    _check_irreversible_updates(plan, max_irreversible_updates)
    irreversible = [c.address for c in plan.changes if c.irreversible and c.action.destroys]
    if irreversible and not allow_irreversible:
        shown = shortened(irreversible, 10)
        raise UnsafePlanError(
            f"the plan releases {len(irreversible)} phone number(s), which cannot be undone: {shown}",
            "If that is intended, apply again with --allow-release; otherwise remove `release: true` from them.",
        )
    if force:
        return
    problems = [p for kind, count in plan.live_counts.items() for p in _over_threshold(plan, kind, count, limits)]
    if problems:
        raise UnsafePlanError(
            "the plan changes too much at once: " + "; ".join(problems),
            "Review the plan; if it is what you want, run again with --force (or raise the thresholds under "
            "reconciler.safety).",
        )


def _check_irreversible_updates(plan: Plan, cap: int | None) -> None:
    """An update that cannot be undone (a port-out authorized lets the number go) is capped per run."""
    updates = [c.address for c in plan.changes if c.irreversible and not c.action.destroys]
    if cap is None or len(updates) <= cap:
        return
    raise UnsafePlanError(
        f"the plan authorizes {len(updates)} port-out(s), more than the {cap} one run may send (an authorized "
        f"port-out cannot be undone once the numbers port): {', '.join(updates)}",
        "Check each order. If they are all meant to go, raise `max_authorizations` under portout_policy, or "
        "apply with --max-authorizations N; otherwise change the rules. Nothing was applied.",
    )


def _over_threshold(plan: Plan, kind: str, live_count: int, limits: SafetyLimits) -> list[str]:
    if live_count < limits.min_existing:
        return []
    actions = Counter(c.action.counted_as for c in plan.changes if c.kind == kind)
    problems = []
    deletes = actions["delete"] + actions["replace"]
    if deletes / live_count > limits.delete_threshold:
        problems.append(
            f"{kind}: {deletes} of {live_count} would be deleted or replaced "
            f"(more than {limits.delete_threshold:.0%})"
        )
    updates = actions["update"]
    if updates / live_count > limits.update_threshold:
        problems.append(
            f"{kind}: {updates} of {live_count} would be updated (more than {limits.update_threshold:.0%})"
        )
    return problems
