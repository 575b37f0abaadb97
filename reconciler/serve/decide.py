"""Deciding port-out orders with the config's policy, through the engine's own plan and apply.

For a batch of pending orders (one, from a webhook; all, from a catch-up), `Decider.decide` claims each
order (one decision at a time per order in this receiver), makes one plan targeted at them
(`pipeline.plan_from_account` with a `Target("portout_policy", key)` each, the key being the support key or
the id, as `--target` takes it), and then, order by order: reads the order again (unless it was read just
now), answers it with `pipeline.apply_plan` on a plan holding only its change, or leaves it to a person.

Never twice: an order no longer pending is left alone, and when the API refuses the answer the order is
read again; no longer pending means another receiver (or a person) answered first, which is done.

Each decision is one JSON log line (`reconciler.serve.decisions`): order, support key, numbers, source,
event, rule, action, outcome, latency from the event to the answer. A manual order is announced once to
`notify_url`, with its deadline. Nothing logged or sent holds a secret: no key, no PIN.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from reconciler import pipeline, portouts
from reconciler.api import Api
from reconciler.errors import ReconcilerError
from reconciler.pipeline import Target
from reconciler.plan import Attention, Change, Plan

from .config import POLICY, LiveConfig
from .memory import Memory

decisions = logging.getLogger("reconciler.serve.decisions")
log = logging.getLogger(__name__)
PENDING = "pending"
ACTIONS = {"authorized": "authorize", "rejected-pending": "reject"}
NOTIFY_TIMEOUT = 5.0


@dataclass(frozen=True)
class Trigger:
    """Why an order is being decided: a webhook event (id and creation time) or a catch-up."""

    source: str  # "webhook" or "catch-up"
    event_id: str | None = None
    event_at: str | None = None


def key_of(order: dict[str, Any]) -> str:
    """The order's key in a plan: what the portal and support call it (see policies/portout.py)."""
    return str(order.get("support_key") or order["id"])


class Decider:
    def __init__(self, api: Api, config: LiveConfig, memory: Memory, notify_url: str | None = None,
                 notify: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.api, self.config, self.memory = api, config, memory
        self.notify_url = notify_url
        self._notify = notify or _post_json
        self._claimed: set[str] = set()
        self._lock = threading.Lock()

    # -- entry points ------------------------------------------------------------------------------
    def decide_event(self, order_id: str, trigger: Trigger) -> None:
        """A webhook said the order is pending: read it, and decide it if it still is."""
        if not self._claim(order_id):
            return
        try:
            order = portouts.get_portout(self.api, order_id)
            if order.get("status") != PENDING:
                self._log(order, trigger, outcome="not pending", detail=f"status {order.get('status')}")
                return
            self._decide([order], trigger, fresh=True)
        except ReconcilerError as exc:
            self._log({"id": order_id}, trigger, outcome="failed", detail=exc.message)
        finally:
            self._release([order_id])

    def decide_pending(self, orders: list[dict[str, Any]], trigger: Trigger) -> None:
        """A catch-up listed these pending orders: decide those no one in this receiver is deciding."""
        claimed = [o for o in orders if self._claim(str(o["id"]))]
        try:
            if claimed:
                self._decide(claimed, trigger, fresh=len(claimed) == 1)
        finally:
            self._release([str(o["id"]) for o in claimed])

    # -- deciding ----------------------------------------------------------------------------------
    def _decide(self, orders: list[dict[str, Any]], trigger: Trigger, fresh: bool) -> None:
        desired = self.config.current()
        try:
            plan = pipeline.plan_from_account(self.api, desired, [Target(POLICY, key_of(o)) for o in orders])
        except ReconcilerError as exc:
            if len(orders) > 1:  # one order the policy cannot decide must not hold up the others
                for order in orders:
                    self._decide([order], trigger, fresh=False)
                return
            self._log(orders[0], trigger, outcome="failed", detail=exc.message)
            return
        changes = {c.key: c for c in plan.changes}
        waiting = {a.key: a for a in plan.attention}
        for order in orders:
            key = key_of(order)
            if key in changes:
                self._answer(order, changes[key], plan, trigger, fresh)
            elif key in waiting:
                self._manual(order, waiting[key], trigger)
            else:
                self._log(order, trigger, outcome="not pending", detail="not among the pending orders any more")

    def _answer(self, order: dict[str, Any], change: Change, plan: Plan, trigger: Trigger, fresh: bool) -> None:
        facts = {"action": ACTIONS.get(str((change.after or {}).get("status")), "update"), "rule": self._rule(change)}
        if not fresh:
            order = portouts.get_portout(self.api, str(order["id"]))
            if order.get("status") != PENDING:
                self._log(order, trigger, outcome="not pending", detail=f"status {order.get('status')}", **facts)
                return
        single = Plan((change,), dict(plan.live_counts), plan.notes, kind_order=plan.kind_order, ids=plan.ids)
        try:
            pipeline.check_plan(single, self.config.current())
            pipeline.apply_plan(self.api, single)
        except ReconcilerError as exc:
            self._after_refusal(order, trigger, exc, facts)
            return
        self._log(order, trigger, outcome="answered", detail=change.reason, **facts)

    def _after_refusal(self, order: dict[str, Any], trigger: Trigger, exc: ReconcilerError,
                       facts: dict[str, Any]) -> None:
        """The answer failed: if the order is no longer pending someone answered it first, which is done."""
        try:
            status = portouts.get_portout(self.api, str(order["id"])).get("status")
        except ReconcilerError:
            status = PENDING
        if status != PENDING:
            self._log(order, trigger, outcome="answered elsewhere", detail=f"status {status}", **facts)
        else:
            self._log(order, trigger, outcome="failed", detail=exc.message, **facts)

    def _manual(self, order: dict[str, Any], item: Attention, trigger: Trigger) -> None:
        self._log(order, trigger, outcome="manual", action="manual", deadline=item.deadline, detail=item.message)
        if self.notify_url and self.memory.first_notice(str(order["id"])):
            text = (f"Port-out {key_of(order)} ({', '.join(order.get('phone_numbers') or [])}) needs a person "
                    f"before {item.deadline or 'its deadline'}: {item.message}")
            try:
                self._notify(self.notify_url, {"text": text, "portout_id": order["id"], "support_key": key_of(order),
                                               "deadline": item.deadline})
            except OSError as exc:
                log.warning("notification for port-out %s not sent: %s", key_of(order), type(exc).__name__)

    def _rule(self, change: Change) -> str | None:
        """The policy rule named in the change's reason (the rule that decided)."""
        policy = self.config.current().policies[POLICY]
        reason = change.reason or ""
        return next((rule.name for rule in getattr(policy, "rules", []) if rule.name in reason), None)

    # -- bookkeeping -------------------------------------------------------------------------------
    def _claim(self, order_id: str) -> bool:
        with self._lock:
            if order_id in self._claimed:
                return False
            self._claimed.add(order_id)
            return True

    def _release(self, order_ids: Iterable[str]) -> None:
        with self._lock:
            self._claimed.difference_update(order_ids)

    def _log(self, order: dict[str, Any], trigger: Trigger, **facts: Any) -> None:
        now = datetime.now(timezone.utc)
        since = trigger.event_at or order.get("created_at")
        line = {"at": now.isoformat(timespec="milliseconds"), "order": order.get("id"),
                "support_key": order.get("support_key"), "numbers": list(order.get("phone_numbers") or []),
                "source": trigger.source, "event": trigger.event_id, "action": facts.pop("action", None),
                "rule": facts.pop("rule", None), **facts, "latency_s": _seconds_since(since, now)}
        decisions.info(json.dumps(line, sort_keys=False))


def _seconds_since(moment: Any, now: datetime) -> float | None:
    try:
        return round((now - datetime.fromisoformat(str(moment).replace("Z", "+00:00"))).total_seconds(), 3)
    except ValueError:
        return None


def _post_json(url: str, document: dict[str, Any]) -> None:
    """One message to a chat webhook (or any URL taking JSON); the answer is not read beyond its status."""
    request = urllib.request.Request(url, json.dumps(document).encode(), {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=NOTIFY_TIMEOUT):
        pass
