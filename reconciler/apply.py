"""Apply: carry out a Plan through the kinds and the policies, batch by batch, stopping after the first
batch that fails.

Steps (order.steps) are grouped into batches of one kind and one operation, so a kind can make one call
for many resources (phone numbers use background jobs). A change whose kind is a policy's name (the
port-out policy's answers) is carried out by that policy, found in the policies' registry. What was done before a failure stays done;
ApplyError says what was applied, what failed and why, and what was not tried. Because the next plan is
computed from the account again, a re-run converges.

An interrupt is a stop like a failure. Under `stop_on_signals`, the first SIGINT or SIGTERM (Ctrl-C, a
cancelled CI job) lets the step in flight finish and be recorded, then stops before the next one; a second
signal stops at once, and the step in flight is then reported as possibly done. Either way ApplyError lists
what was applied and what was not.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import groupby
from types import FrameType
from typing import Any

from reconciler.api import Api
from reconciler.errors import ApplyError, PartialFailure, ReconcilerError
from reconciler.kinds import KINDS, Kind
from reconciler.kinds.base import ApplyContext
from reconciler.order import steps
from reconciler.plan import Change, Plan, Step
from reconciler.policies import POLICIES, Policy
from reconciler.states import kept_ids


@dataclass(frozen=True)
class Progress:
    """An event for whoever shows progress: a step finished, or a batch advanced (done of total)."""

    kind: str
    done: int
    total: int
    what: str
    step: Step | None = None


OnProgress = Callable[[Progress], None]
OnCreated = Callable[[str, str, str], None]  # (kind, key, live id) of a resource just created
OnDone = Callable[[list[Step]], None]  # steps just finished (one, or a batch kind's many)
RunBatch = Callable[[Api, list[Step], ApplyContext], None]
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
IN_FLIGHT = "interrupted in flight: it may or may not have taken effect (`plan` shows which)"


@dataclass
class StopRequest:
    """Set when a signal asks the apply to stop; `reason` names the signal."""

    reason: str | None = None


class _Stop(Exception):
    """Raised between steps once a stop is requested; apply turns it into ApplyError."""


@contextmanager
def stop_on_signals(notify: Callable[[str], None] | None = None) -> Iterator[StopRequest]:
    """While inside, SIGINT and SIGTERM request a stop after the step in flight (`notify` hears the signal's
    name); a second one raises KeyboardInterrupt at once. Signals can be caught in the main thread only."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.reason is not None:
            raise KeyboardInterrupt
        stop.reason = signal.Signals(signum).name
        if notify is not None:
            notify(stop.reason)

    previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


@dataclass
class Context:
    """What kinds may ask during an apply: ids of resources by key, as they are after the steps so far."""

    api: Api
    plan: Plan
    kinds: dict[str, Kind]
    on_progress: OnProgress | None = None
    on_created: OnCreated | None = None
    total: int = 0
    on_done: OnDone | None = None
    stop: StopRequest | None = None
    created: dict[tuple[str, str], str] = field(default_factory=dict)
    finished: list[Step] = field(default_factory=list)
    steps_left: dict[int, int] = field(default_factory=dict)  # id(change) -> its steps not yet finished
    _ids: dict[str, dict[str, str]] = field(default_factory=dict)

    def resolve(self, kind: str, key: str) -> str:
        if (kind, key) in self.created:
            return self.created[(kind, key)]
        if kind not in self._ids:
            known = self.plan.ids.get(kind)
            self._ids[kind] = dict(known) if known is not None else self._live_ids(kind)
        if key not in self._ids[kind]:
            title = self.kinds[kind].title
            raise ReconcilerError(f"{title} {key!r} does not exist in the account", "Run `plan` again.")
        return self._ids[kind][key]

    def _live_ids(self, kind: str) -> dict[str, str]:
        """Read from the account: for a plan that does not carry them (Plan.ids)."""
        doomed = {c.live_id for c in self.plan.changes if c.kind == kind and c.action.destroys}
        return kept_ids(self.kinds[kind].fetch(self.api), doomed)

    def record_created(self, kind: str, key: str, live_id: str) -> None:
        self.created[(kind, key)] = live_id
        if self.on_created is not None:
            self.on_created(kind, key, live_id)

    def progress(self, kind: str, done: int, total: int, what: str) -> None:
        if self.on_progress is not None:
            self.on_progress(Progress(kind, done, total, what))

    def steps_done(self, steps: list[Step]) -> None:
        """Many steps finished at once (a batch kind reports its own progress)."""
        for step in steps:
            self._finish(step)
        if self.on_done is not None and steps:
            self.on_done(steps)

    def step_done(self, step: Step) -> None:
        """One step finished; the place an apply that was asked to stop stops."""
        self._finish(step)
        if self.on_done is not None:
            self.on_done([step])
        if self.on_progress is not None:
            self.on_progress(Progress(step.change.kind, self.changes_done, self.total, step.op.value, step))
        self.stop_if_asked()

    def _finish(self, step: Step) -> None:
        self.finished.append(step)
        self.steps_left[id(step.change)] = self.steps_left.get(id(step.change), 1) - 1

    @property
    def changes_done(self) -> int:
        """Changes whose every step has finished: what `total` counts (a replace is one change, two steps)."""
        return sum(1 for left in self.steps_left.values() if left <= 0)

    def stop_if_asked(self) -> None:
        if self.stop is not None and self.stop.reason is not None:
            raise _Stop


def apply(
    api: Api, plan: Plan, kinds: dict[str, Kind] | None = None, on_progress: OnProgress | None = None,
    on_created: OnCreated | None = None, on_done: OnDone | None = None, stop: StopRequest | None = None,
    policies: dict[str, Policy[Any]] | None = None,
) -> list[Change]:
    """Run every step of the plan; return the changes applied. Raises ApplyError when a batch fails or the
    apply is interrupted."""
    kinds = KINDS if kinds is None else kinds
    policies = POLICIES if policies is None else policies
    todo = steps(plan)
    ctx = Context(api, plan, kinds, on_progress, on_created, len(plan.changes), on_done=on_done, stop=stop)
    for step in todo:
        ctx.steps_left[id(step.change)] = ctx.steps_left.get(id(step.change), 0) + 1
    for batch in batches(todo):
        try:
            ctx.stop_if_asked()
            runner(batch[0].change.kind, kinds, policies)(api, batch, ctx)
        except _Stop:
            reason = stop.reason if stop is not None else None
            raise _stopped(ReconcilerError(f"interrupted ({reason})"), [], todo, ctx.finished) from None
        except KeyboardInterrupt:
            in_flight = [(s.change, IN_FLIGHT) for s in _unfinished(batch, ctx)[:1]]
            raise _stopped(ReconcilerError("interrupted"), in_flight, todo, ctx.finished) from None
        except PartialFailure as exc:
            raise _stopped(exc.cause, exc.failures, todo, ctx.finished) from exc
        except ReconcilerError as exc:
            failed = [(s.change, exc.message) for s in _unfinished(batch, ctx)[:1]]
            raise _stopped(exc, failed, todo, ctx.finished) from exc
    return list(plan.changes)


def runner(name: str, kinds: dict[str, Kind], policies: dict[str, Policy[Any]]) -> RunBatch:
    """What carries out a batch of changes of this kind: the policy of that name, else the kind."""
    return policies[name].apply if name in policies else kinds[name].apply_steps


def _unfinished(batch: list[Step], ctx: Context) -> list[Step]:
    done = {id(s) for s in ctx.finished}
    return [s for s in batch if id(s) not in done]


def batches(todo: list[Step]) -> Iterator[list[Step]]:
    for _, group in groupby(todo, key=lambda s: (s.change.kind, s.op)):
        yield list(group)


def _stopped(cause: ReconcilerError, failed: list[tuple[Change, str]], todo: list[Step], finished: list[Step]) -> ApplyError:
    """Sort every change of the plan into applied (all its steps done), failed, and not tried."""
    done = {id(s) for s in finished}
    failed_ids = {id(c) for c, _ in failed}
    steps_of: dict[int, list[Step]] = {}
    for step in todo:
        steps_of.setdefault(id(step.change), []).append(step)
    applied: list[Change] = []
    pending: list[Change] = []
    for change_id, its_steps in steps_of.items():
        if change_id in failed_ids:
            continue
        complete = all(id(s) in done for s in its_steps)
        (applied if complete else pending).append(its_steps[0].change)
    return ApplyError(cause, applied, failed, pending)


__all__ = ["Context", "Progress", "StopRequest", "apply", "batches", "stop_on_signals"]
