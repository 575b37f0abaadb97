"""The flow, end to end, as a handful of short functions: load, fetch, plan, check, apply. No printing.

    load_desired(paths)            -> DesiredState     (config.py)
    fetch_live(api, names)         -> LiveState        (kinds.*.fetch, policies.*.fetch through client.py)
    make_plan(desired, live)       -> Plan             (diff.py and order.py for the kinds, then each policy's decide)
    check_plan(plan, desired)      refuses unsafe plans (plan.py)
    apply_lock(desired, paths)     one apply at a time per config and state file (lock.py)
    apply_plan(api, plan)          -> changes applied  (apply.py: kinds' changes by the kinds, policies' by the policies)

The engine runs the kinds, then the policies: a plan lists the kinds' changes in dependency order, then
each policy's (policies/), keys sorted within each. `--target` takes a kind or a policy by name.
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from reconciler import config, lock
from reconciler.api import Api
from reconciler.apply import OnProgress, StopRequest, apply
from reconciler.diff import diff
from reconciler.errors import ConfigError, ConfigIssue, PlanError, ReconcilerError, StalePlanError
from reconciler.kinds import KINDS, Kind
from reconciler.kinds.base import Confirms, ConfirmsUnlisted, KindDiff
from reconciler.order import kind_order, order_changes
from reconciler.plan import Action, Attention, Change, Op, Plan, Step, check_safety
from reconciler.policies import POLICIES, Decisions
from reconciler.state import Fingerprints, load_fingerprints, state_key
from reconciler.states import DesiredState, LiveResource, LiveState, Source, kept_ids

GC_BATCH = 100_000  # allocations between young collections while a large account is loaded or compared
GC_OLDER = 1_000  # young collections between middle-generation ones meanwhile (Python's default: 10)


class _Collections:
    """How often the cycle collector runs while a config or an account is built (see few_collections).
    Steps nest, and run in several threads in the receiver (its decision workers): the first to start
    changes the pace, the last to finish restores it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._previous = gc.get_threshold()
        self._enabled = gc.isenabled()

    @contextmanager
    def fewer(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._start()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    self._finish()

    def _start(self) -> None:
        self._previous, self._enabled = gc.get_threshold(), gc.isenabled()
        gc.unfreeze()  # what the last step set aside is examined again from now on
        if threading.current_thread() is threading.main_thread():
            gc.disable()  # a command's own step: nothing else runs meanwhile that could pile up garbage
        else:
            gc.set_threshold(max(self._previous[0], GC_BATCH), max(self._previous[1], GC_OLDER), self._previous[2])

    def _finish(self) -> None:
        gc.set_threshold(*self._previous)
        gc.freeze()
        if self._enabled:
            gc.enable()


_COLLECTIONS = _Collections()


def few_collections() -> AbstractContextManager[None]:
    """Collect cycles less often while a large config or account is built, and set what was built aside
    afterwards. A hundred thousand phone numbers are millions of objects that all live on: at the
    collector's default pace (every 700 allocations) it scans them again and again (half the CPU of such
    a plan), and every later collection of the oldest generation would scan them all once more. So a
    command's step (on the main thread) runs without automatic collection, and a step in a worker thread
    collects the young generation only every GC_BATCH allocations. When the last step ends, everything
    then alive is frozen (gc.freeze: out of the collector's sight, still freed by reference counting when
    no longer used) until the next step unfreezes it, so a cycle that became garbage is collected then."""
    return _COLLECTIONS.fewer()


def load_desired(
    paths: list[str] | tuple[str, ...], environ: dict[str, str] | None = None, targets: Iterable[Target] = ()
) -> DesiredState:
    """The config; with targets, only the targeted kinds and policies and the kinds they refer to (so a
    port-out job needs none of the integration secrets' variables)."""
    named = {t.kind for t in targets}
    only = frozenset(with_dependencies(named - POLICIES.keys())) | (named & POLICIES.keys()) if named else None
    with few_collections():
        return config.load_desired(paths, environ, only)


@dataclass(frozen=True)
class Target:
    """`--target KIND[:KEY]`: limit a plan to one kind, or one resource of it; or to one policy's
    decisions, or its decision about one thing (a port-out's support key)."""

    kind: str
    key: str | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        kind, _, key = text.partition(":")
        if kind not in KINDS and kind not in POLICIES:
            raise ReconcilerError(f"unknown kind {kind!r} in --target {text!r}", f"kinds: {', '.join([*KINDS, *POLICIES])}")
        return cls(kind, key or None)

    @property
    def decides(self) -> bool:
        """Whether this targets a policy's decisions rather than resources of a kind."""
        return self.kind in POLICIES

    def matches(self, item: Change | Attention) -> bool:
        return item.kind == self.kind and (self.key is None or item.key == self.key)


def kinds_in_scope(desired: DesiredState, targets: Iterable[Target] = ()) -> list[str]:
    """The kinds worth reading: those the config lists or prunes (narrowed by any targets), and the kinds
    they depend on, whose names they use."""
    wanted = {name for name, entries in desired.entries.items() if entries} | set(desired.settings.prune)
    targeted = {t.kind for t in targets}
    return with_dependencies(wanted & targeted if targeted else wanted)


def policies_in_scope(desired: DesiredState, targets: Iterable[Target] = ()) -> list[str]:
    """The policies the config sets (narrowed by any targets), in registry order."""
    targeted = {t.kind for t in targets}
    return [name for name in POLICIES if name in desired.policies and (not targeted or name in targeted)]


def with_dependencies(names: Iterable[str]) -> list[str]:
    """The kinds named and those they depend on, in registry order."""
    wanted = set(names)
    wanted |= {dep for name in list(wanted) for dep in KINDS[name].depends_on}
    return [name for name in KINDS if name in wanted]


def fetch_live(api: Api, names: Iterable[str], desired: DesiredState | None = None, concurrency: int = 4) -> LiveState:
    """Read the named kinds, and the named policies `desired` sets (each reads what its section needs), from
    the account, several at a time."""
    names = list(names)
    if not names:
        return LiveState()

    def read(name: str) -> list[LiveResource]:
        if name in POLICIES and desired is not None:
            return POLICIES[name].fetch(api, desired.policies[name])
        return KINDS[name].fetch(api, desired.fields_in_use.get(name, frozenset()) if desired else frozenset())

    with few_collections(), ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(names)))) as pool:
        fetched = dict(zip(names, pool.map(read, names), strict=True))
    return LiveState({n: r for n, r in fetched.items() if n not in POLICIES},
                     {n: r for n, r in fetched.items() if n in POLICIES})


def make_plan(
    desired: DesiredState, live: LiveState, targets: Iterable[Target] = (), fingerprints: Fingerprints | None = None
) -> Plan:
    """Diff and order the kinds, then let the policies decide; raise if the config names what exists
    nowhere or the kinds find the plan impossible. `live_counts`, which the thresholds read, count the
    kinds' resources only."""
    targets = list(targets)
    if fingerprints is not None:
        _forget_gone_leftovers(fingerprints, live)
    result = diff(desired, live, fingerprints=fingerprints)
    _stop_on(result.issues, result.errors)
    decided = decide_policies(desired, live)
    changes = [*order_changes(result.changes), *decided.changes]
    attention = [*result.attention, *decided.attention]
    notes = [*result.notes, *decided.notes]
    if targets:
        _check_target_keys(targets, desired, live)
        kept = [c for c in changes if any(t.matches(c) for t in targets)]
        needed = _creates_named_by(kept, changes)
        notes += [f"--target: the {c.action.value} of {c.kind}[{c.key}] is in the plan too: {named} names it"
                  for c, named in needed]
        wanted = {id(c) for c in kept} | {id(c) for c, _ in needed}
        changes = [c for c in changes if id(c) in wanted]  # in the plan's order
        attention = [a for a in attention if any(t.matches(a) for t in targets)]
    return Plan(tuple(changes), live.counts(), tuple(notes), tuple(attention), tuple(kind_order()),
                _named_ids(live, changes))


def _creates_named_by(kept: list[Change], changes: list[Change]) -> list[tuple[Change, str]]:
    """The creates and replaces in `changes` of resources that the `kept` changes name (a billing group the
    config adds, which a targeted number moves to), with what names each: a --target brings them along, as
    Terraform's -target takes what its target depends on, so that apply never names what is not there."""
    making = {(c.kind, c.key): c for c in changes if c.action is Action.CREATE or c.action.replaces}
    kept_ids = {id(c) for c in kept}
    found: list[tuple[Change, str]] = []
    todo = list(kept)
    while todo:
        change = todo.pop(0)
        for named in _names_in(change):
            needed = making.pop(named, None)
            if needed is not None and id(needed) not in kept_ids:
                found.append((needed, f"{change.kind}[{change.key}]"))
                todo.append(needed)
    return found


def _names_in(change: Change) -> Iterator[tuple[str, str]]:
    """(kind, key) of each resource of another kind that a change's new values name (kinds/base.py `names`)."""
    kind = KINDS.get(change.kind)
    after = change.after or {}
    for ref in kind.names if kind is not None else ():
        top, inside = ref.parts
        value = after.get(top)
        if inside:
            value = value.get(inside) if isinstance(value, dict) else None
        if isinstance(value, str) and value:
            yield ref.kind, value


def _named_ids(live: LiveState, changes: list[Change]) -> dict[str, dict[str, str]]:
    """The ids apply resolves names with (states.kept_ids), for each kind other kinds name."""
    named = {ref.kind for kind in KINDS.values() for ref in kind.names} & live.resources.keys()
    doomed = {name: {c.live_id for c in changes if c.kind == name and c.action.destroys} for name in named}
    return {name: kept_ids(live.resources[name], doomed[name]) for name in named}


def decide_policies(desired: DesiredState, live: LiveState) -> Decisions:
    """What each policy the config sets decides about what it read, in registry order; a policy's changes
    sorted by key, as the kinds' are."""
    found = Decisions()
    for name, policy in POLICIES.items():
        if name not in desired.policies or name not in live.policies:
            continue
        decided = policy.decide(desired.policies[name], live.policies[name])
        found.changes.extend(sorted(decided.changes, key=lambda c: c.key))
        found.attention.extend(decided.attention)
        found.notes.extend(decided.notes)
    return found


def _forget_gone_leftovers(fingerprints: Fingerprints, live: LiveState) -> None:
    """Recorded leftovers no longer in the account (deleted since, by anyone) are forgotten; the next save
    writes that down."""
    for kind, resources in live.resources.items():
        if not fingerprints.leftover_ids(kind):
            continue
        present = {r.id for r in resources}
        for live_id in fingerprints.leftover_ids(kind) - present:
            fingerprints.forget_leftover(kind, live_id)


def _check_target_keys(targets: list[Target], desired: DesiredState, live: LiveState) -> None:
    """A targeted key that is neither in the config nor in the account is a typo, not "no changes". A
    policy's keys are what it decides about (orders that come and go), so they are not checked."""
    for target in targets:
        if target.key is None or target.decides:
            continue
        kind = KINDS[target.kind]
        known = set(desired.keys(kind))
        known |= {r.key for r in live.resources.get(target.kind, [])}
        if target.key not in known:
            raise ReconcilerError(
                f"--target {target.kind}:{target.key}: no {kind.title} {target.key!r} in the config or the account",
                f"Check the key; {target.kind} is keyed by {kind.key_field}.",
            )


def _stop_on(issues: list[ConfigIssue], errors: list[str]) -> None:
    if issues:
        raise ConfigError(issues)
    if errors:
        raise PlanError("the plan cannot be made:\n" + "\n".join(f"  {e}" for e in errors),
                        "Correct the config (or the account), then plan again.")


def confirm_with_api(api: Api, desired: DesiredState, live: LiveState, targets: Iterable[Target] = ()) -> list[str]:
    """Ask the API what reading the account does not tell (each kind's `confirm`, and `confirm_unlisted` of
    the keys its list did not return, for the kinds in scope); raise what stops the plan; return the notes
    for the plan."""
    scope = {t.kind for t in targets}
    found = KindDiff()
    for name, resources in live.resources.items():
        if scope and name not in scope:
            continue
        kind = KINDS[name]
        answers = []
        if isinstance(kind, Confirms):
            answers.append(kind.confirm(api, desired.entries.get(name, []), resources, desired))
        if isinstance(kind, ConfirmsUnlisted):
            listed = {r.key for r in resources}
            unlisted = [key for key in desired.keys(kind) if key not in listed]
            if unlisted:
                answers.append(kind.confirm_unlisted(api, unlisted))
        for asked in answers:
            found.notes.extend(asked.notes)
            found.issues.extend(asked.issues)
            found.errors.extend(asked.errors)
    _stop_on(found.issues, found.errors)
    return found.notes


def plan_from_account(
    api: Api, desired: DesiredState, targets: Iterable[Target] = (), fingerprints: Fingerprints | None = None
) -> Plan:
    targets = list(targets)
    with few_collections():
        live = fetch_live(api, [*kinds_in_scope(desired, targets), *policies_in_scope(desired, targets)], desired)
        notes = confirm_with_api(api, desired, live, targets)
        plan = make_plan(desired, live, targets, fingerprints)
    return replace(plan, notes=(*notes, *plan.notes)) if notes else plan


def open_state(desired: DesiredState, api_key: str) -> Fingerprints | None:
    """What the tool recorded for this config (state.py), when it has anything to record (config._state_path)."""
    if desired.state_path is None:
        return None
    return load_fingerprints(desired.state_path, state_key(api_key))


def apply_lock(desired: DesiredState, paths: Sequence[str], timeout: float = 0.0) -> AbstractContextManager[None]:
    """The lock an apply of this config holds from before it reads the account until it ends (lock.py):
    beside the state file, or, for a config without one, in the config's directory."""
    first = Path(paths[0]) if paths else Path(desired.files[0])
    return lock.held(lock.lock_path(desired.state_path, first if first.is_dir() else first.parent), timeout)


def config_warnings(desired: DesiredState) -> list[str]:
    """What `validate` warns about (file:line, words): each policy's `warnings` (port-out rules that match
    everything or never apply)."""
    found = []
    for name, section in desired.policies.items():
        source = desired.policy_sources[name]
        for where, note in POLICIES[name].warnings(section):
            found.append(f"{source.file}:{Source(source.file, (name, *where), source.doc).line or '?'}: {note}")
    return found


def check_plan(plan: Plan, desired: DesiredState, force: bool = False, allow_release: bool = False,
               max_authorizations: int | None = None) -> None:
    """`max_authorizations` (a flag) overrides the policies' own cap on irreversible changes (port-out
    authorizations) per run."""
    caps = [POLICIES[name].irreversible_cap(section) for name, section in desired.policies.items()]
    cap = max_authorizations if max_authorizations is not None else min((c for c in caps if c is not None), default=None)
    check_safety(plan, desired.settings.safety.limits(), force, allow_release, cap)


def _writes_secret(kind: Kind, change: Change) -> bool:
    """Whether applying the change writes a write-only value, whose fingerprint the tool then records: a
    create or replace of a kind that has such fields, or an update that changes one."""
    if not kind.fingerprinted or change.after is None:
        return False
    return change.action is not Action.UPDATE or any(f.path.split(".")[0] in kind.fingerprinted for f in change.fields)


def apply_plan(
    api: Api, plan: Plan, on_progress: OnProgress | None = None, fingerprints: Fingerprints | None = None,
    stop: StopRequest | None = None,
) -> list[Change]:
    """Apply, recording a fingerprint of each write-only value written, and the old resource of each replace
    that creates the new one first as a leftover until its delete is confirmed (state.py). The state file
    is saved as each write is confirmed, so a crash or an interrupt loses at most the record of the request
    in flight."""
    if fingerprints is None:
        return apply(api, plan, on_progress=on_progress, stop=stop)
    writes = {(c.kind, c.key): c for c in plan.changes if c.kind in KINDS and _writes_secret(KINDS[c.kind], c)}
    replaced = {(c.kind, c.key): str(c.live_id) for c in plan.changes
                if c.action is Action.CREATE_BEFORE_DELETE and c.live_id}

    def created(kind: str, key: str, live_id: str) -> None:
        if (kind, key) in writes:
            _remember(fingerprints, writes[(kind, key)], live_id)
        if (kind, key) in replaced:
            fingerprints.record_leftover(kind, replaced[(kind, key)], key)
        fingerprints.save()

    def done(finished: list[Step]) -> None:
        for step in finished:
            if step.op is Op.UPDATE and (step.change.kind, step.change.key) in writes:
                _remember(fingerprints, step.change, str(step.change.live_id))
            elif step.op is Op.DELETE and step.change.live_id:
                fingerprints.forget_leftover(step.change.kind, str(step.change.live_id))
        fingerprints.save()

    fingerprints.save()  # what the plan found gone (make_plan)

    return apply(api, plan, on_progress=on_progress, on_created=created, on_done=done, stop=stop)


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


CHECKSUM_PATTERN = re.compile(r"[0-9a-f]{64}")


def verify_checksum(plan: Plan, expected: str) -> None:
    """Refuse a plan other than the reviewed one (`apply --expect-checksum`, a merged pull request's comment)."""
    if not CHECKSUM_PATTERN.fullmatch(expected):
        raise ReconcilerError(f"{expected!r} is not a plan checksum", "Give the 64 hex digits shown with the reviewed plan.")
    if plan.checksum != expected:
        raise StalePlanError(
            f"the plan now has checksum {plan.checksum}, not the reviewed {expected}",
            "Nothing was applied. Review the new plan, then apply it with --expect-checksum " + plan.checksum + ".",
        )
