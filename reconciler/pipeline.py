"""The flow, end to end, as a handful of short functions: load, fetch, plan, check, apply. No printing.

    load_desired(paths)            -> DesiredState     (config.py)
    fetch_live(api, kind names)    -> LiveState        (kinds.*.fetch through client.py)
    make_plan(desired, live)       -> Plan             (diff.py, order.py)
    check_plan(plan, desired)      refuses unsafe plans (plan.py)
    apply_plan(api, plan)          -> changes applied  (apply.py)
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from reconciler import config
from reconciler.apply import OnProgress, apply
from reconciler.config import DesiredState
from reconciler.diff import LiveState, diff
from reconciler.errors import ApplyError, ConfigError, PlanError, ReconcilerError, StalePlanError
from reconciler.kinds import KINDS, LiveResource
from reconciler.kinds.base import Api
from reconciler.order import order_changes
from reconciler.plan import Action, Attention, Change, Plan, check_safety
from reconciler.state import Fingerprints, load_fingerprints, state_key

GC_BATCH = 100_000  # allocations between young collections while a large account is loaded or compared


@contextmanager
def few_collections() -> Iterator[None]:
    """Collect cycles less often while a large config or account is built. A hundred thousand phone numbers
    are millions of objects that all live on, and at the collector's default pace (every 700 allocations)
    it rescans them again and again: half the CPU of such a plan. Cycles are still collected, later."""
    previous = gc.get_threshold()
    gc.set_threshold(max(previous[0], GC_BATCH), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def load_desired(paths: list[str] | tuple[str, ...], environ: dict[str, str] | None = None) -> DesiredState:
    with few_collections():
        return config.load_desired(paths, environ)


@dataclass(frozen=True)
class Target:
    """`--target KIND[:KEY]`: limit a plan to one kind, or one resource of it."""

    kind: str
    key: str | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        kind, _, key = text.partition(":")
        if kind not in KINDS:
            raise ReconcilerError(f"unknown kind {kind!r} in --target {text!r}", f"kinds: {', '.join(KINDS)}")
        return cls(kind, key or None)

    def matches(self, item: Change | Attention) -> bool:
        return item.kind == self.kind and (self.key is None or item.key == self.key)


def kinds_in_scope(desired: DesiredState, targets: Iterable[Target] = ()) -> list[str]:
    """The kinds worth reading: those the config lists or prunes (narrowed by any targets), and the kinds
    they depend on, whose names they use."""
    wanted = {name for name, entries in desired.entries.items() if entries} | set(desired.settings.prune)
    targeted = {t.kind for t in targets}
    return with_dependencies(wanted & targeted if targeted else wanted)


def with_dependencies(names: Iterable[str]) -> list[str]:
    """The kinds named and those they depend on, in registry order."""
    wanted = set(names)
    wanted |= {dep for name in list(wanted) for dep in KINDS[name].depends_on}
    return [name for name in KINDS if name in wanted]


def fields_in_use(desired: DesiredState, name: str) -> frozenset[str]:
    """What a kind's entries use (Kind.reads), so the kind can skip reading the rest."""
    return KINDS[name].reads(desired.entries.get(name, []))


def fetch_live(api: Api, names: Iterable[str], desired: DesiredState | None = None, concurrency: int = 4) -> LiveState:
    """Read the named kinds from the account, several kinds at a time."""
    names = list(names)
    if not names:
        return LiveState()

    def read(name: str) -> list[LiveResource]:
        return KINDS[name].fetch(api, fields_in_use(desired, name) if desired else frozenset())

    with few_collections(), ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(names)))) as pool:
        fetched = list(pool.map(read, names))
    return LiveState(dict(zip(names, fetched, strict=True)))


def make_plan(
    desired: DesiredState, live: LiveState, targets: Iterable[Target] = (), fingerprints: Fingerprints | None = None
) -> Plan:
    """Diff and order; raise if the config names what exists nowhere or the kinds find the plan impossible."""
    targets = list(targets)
    result = diff(desired, live, fingerprints=fingerprints)
    if result.issues:
        raise ConfigError(result.issues)
    if result.errors:
        raise PlanError("the plan cannot be made:\n" + "\n".join(f"  {e}" for e in result.errors),
                        "Correct the config (or the account), then plan again.")
    changes, attention = result.changes, result.attention
    if targets:
        changes = [c for c in changes if any(t.matches(c) for t in targets)]
        attention = [a for a in attention if any(t.matches(a) for t in targets)]
    counts = {name: n for name, n in live.counts().items() if KINDS[name].thresholds}
    return Plan(order_changes(changes), counts, tuple(result.notes), tuple(attention))


def plan_from_account(
    api: Api, desired: DesiredState, targets: Iterable[Target] = (), fingerprints: Fingerprints | None = None
) -> Plan:
    targets = list(targets)
    with few_collections():
        return make_plan(desired, fetch_live(api, kinds_in_scope(desired, targets), desired), targets, fingerprints)


def open_state(desired: DesiredState, api_key: str) -> Fingerprints | None:
    """The fingerprints recorded for this config (state.py), when it has write-only values."""
    if desired.state_path is None:
        return None
    return load_fingerprints(desired.state_path, state_key(api_key))


def check_plan(plan: Plan, desired: DesiredState, force: bool = False, allow_release: bool = False) -> None:
    check_safety(plan, desired.settings.safety.limits(), force, allow_release)


def apply_plan(
    api: Api, plan: Plan, on_progress: OnProgress | None = None, fingerprints: Fingerprints | None = None
) -> list[Change]:
    """Apply, recording a fingerprint of each write-only value written (state.py); the state file is saved
    even when the apply stops part way, so what was written is known."""
    if fingerprints is None:
        return apply(api, plan, on_progress=on_progress)
    writes = {(c.kind, c.key): c for c in plan.changes if c.after is not None and KINDS[c.kind].fingerprinted}

    def created(kind: str, key: str, live_id: str) -> None:
        if (kind, key) in writes:
            _remember(fingerprints, writes[(kind, key)], live_id)

    applied: list[Change] = []
    try:
        applied = apply(api, plan, on_progress=on_progress, on_created=created)
    except ApplyError as exc:
        applied = exc.applied
        raise
    finally:
        for change in applied:
            if change.action is Action.UPDATE and _sets_write_only(change):
                _remember(fingerprints, change, str(change.live_id))
        fingerprints.save()
    return applied


def _sets_write_only(change: Change) -> bool:
    return bool({f.path.split(".")[0] for f in change.fields} & KINDS[change.kind].fingerprinted)


def _remember(fingerprints: Fingerprints, change: Change, live_id: str) -> None:
    material = KINDS[change.kind].material(change.after or {})
    fingerprints.record(change.kind, change.key, live_id, fingerprints.of(change.kind, change.key, material))


def verify_saved(saved: Plan, fresh: Plan) -> None:
    """Refuse a reviewed plan that no longer describes what apply would do now."""
    if saved.checksum == fresh.checksum:
        return
    old = {(c.address, c.action) for c in saved.changes}
    new = {(c.address, c.action) for c in fresh.changes}
    differing = sorted({a for a, _ in old ^ new}) or sorted(
        c.address for c, d in zip(saved.changes, fresh.changes, strict=False) if c != d
    )
    shown = ", ".join(differing[:10]) + (" ..." if len(differing) > 10 else "")
    raise StalePlanError(
        "the saved plan no longer matches the config and the live account"
        + (f" (differs at: {shown})" if shown else ""),
        "Nothing was applied. Run `plan --out` again, review it, and apply the new plan.",
    )
