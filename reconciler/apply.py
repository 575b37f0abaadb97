"""Apply: carry out a Plan through the kinds, step by step, stopping at the first failure.

What was done before a failure stays done; ApplyError says what was applied and what was not, and
because every step is recomputed from the account by the next plan, a re-run converges.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.errors import ApplyError, ReconcilerError
from reconciler.kinds import KINDS, Kind
from reconciler.kinds.base import Api
from reconciler.order import Op, Step, steps
from reconciler.plan import Change, Plan

OnStep = Callable[[Step, int, int], None]


def apply(api: Api, plan: Plan, kinds: dict[str, Kind] | None = None, on_step: OnStep | None = None) -> list[Change]:
    """Run every step of the plan; return the changes applied. Raises ApplyError on the first failure."""
    kinds = KINDS if kinds is None else kinds
    todo = steps(plan.changes, kinds)
    for index, step in enumerate(todo):
        try:
            run_step(api, kinds[step.change.kind], step)
        except ReconcilerError as exc:
            raise _stopped(exc, todo, index) from exc
        if on_step is not None:
            on_step(step, index + 1, len(todo))
    return list(plan.changes)


def run_step(api: Api, kind: Kind, step: Step) -> None:
    change = step.change
    if step.op is Op.CREATE:
        kind.create(api, change.after or {})
    elif step.op is Op.UPDATE:
        changed = {f.path.split(".")[0] for f in change.fields}
        kind.update(api, str(change.live_id), {k: v for k, v in (change.after or {}).items() if k in changed})
    else:
        kind.delete(api, str(change.live_id))


def _stopped(cause: ReconcilerError, todo: list[Step], failed_at: int) -> ApplyError:
    failed = todo[failed_at].change
    unfinished = {id(s.change) for s in todo[failed_at:]}
    applied = _unique(s.change for s in todo[:failed_at] if id(s.change) not in unfinished)
    pending = _unique(s.change for s in todo[failed_at + 1 :] if s.change is not failed)
    return ApplyError(cause, applied, failed, pending)


def _unique(changes: object) -> list[Change]:
    seen: dict[int, Change] = {}
    for change in changes:  # type: ignore[attr-defined]
        seen.setdefault(id(change), change)
    return list(seen.values())
