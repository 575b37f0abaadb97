"""The port-out policy: reads the account's port-out orders, turns the rules' decisions
(policies/portout_rules.py, pure) into answers and items for a person, and sends the answers.

Another carrier may ask for any number at any time; an order nobody answers is authorized automatically
after a deadline (the guide says 24 or 48 hours from its creation; the policy counts 24 unless told 48),
and the number leaves the account. Authorize and reject are changes (`PATCH
/portouts/{id}/{authorized|rejected-pending}` with a reason, and a comment when the rule has one), keyed
by the order's support key; an authorization is irreversible once the number ports, and
`max_authorizations` caps how many one run sends. Everything the policy cannot decide safely waits for a
person (an `Attention`, which keeps `drift` exiting 2): orders no rule decides, orders a rule cannot be
evaluated on, orders whose eligible rejection codes leave out the rule's code, and authorized orders,
not yet ported, that the policy would have rejected.

An order that lists eligible rejection codes (`/portouts/rejections/{id}`) can only be rejected with one
of them. The request schema of the status call lists only a reason; the guide says to send the code in
the body, so it is sent beside the reason, named at the start of the reason, and checked in the answer.

Apply answers rejections first, then authorizations, each closest deadline first; it re-reads each order
just before answering, skips an order that moved on since the plan, counts an order that already has the
wanted status as done, and goes on after a failure, reporting every failure at the end.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from reconciler import portouts
from reconciler.api import Api
from reconciler.errors import PartialFailure, ReconcilerError, UnprocessableError
from reconciler.kinds.base import ApplyContext
from reconciler.plan import Action, Attention, Change, FieldChange, Step
from reconciler.policies import portout_rules as rules
from reconciler.policies.base import Decisions, Policy, Where
from reconciler.policies.portout_rules import PortoutPolicy
from reconciler.states import LiveResource

STATUS_FOR = {"authorize": "authorized", "reject": "rejected-pending"}
IN_WORDS = {"authorize": "authorize (irreversible once the numbers port)", "reject": "reject"}
LOOKUPS_UP_TO = 20  # numbers on orders looked up one by one; beyond, each rule tag's numbers are listed
MOBILE_PATH = "/v2/mobile_phone_numbers"  # no number or tag filter: listed whole when a rule reads tags


class PortoutAnswers(Policy[PortoutPolicy]):
    name = "portout_policy"
    title = "port-out"
    model = PortoutPolicy

    # --- reading: pending and authorized orders, the tags of their numbers, eligible rejection codes ---

    def fetch(self, api: Api, section: PortoutPolicy) -> list[LiveResource]:
        """Pending orders and authorized ones not yet ported; of their numbers, only the tags some rule
        matches on are looked up in the account."""
        checked = datetime.now(timezone.utc).isoformat()
        pending, note = portouts.snapshot(api, {"status": "pending"})
        authorized = portouts.list_portouts(api, {"status": "authorized"})  # not ported yet
        orders = [*pending, *(o for o in authorized if str(o.get("id")) not in {str(p["id"]) for p in pending})]
        numbers = sorted({str(n) for raw in orders for n in raw.get("phone_numbers") or []})
        wanted = {tag for rule in section.rules for tag in rule.conditions.tags or ()}
        tags = _tags(api, numbers, wanted)
        found = []
        for raw in orders:
            on_order = [str(n) for n in raw.get("phone_numbers") or []]
            attrs = {**raw, "checked_at": checked, "listing_note": note,
                     "number_tags": {n: _shown(tags, n, wanted) for n in on_order},
                     "rejections": portouts.rejection_codes(api, str(raw["id"])) if raw.get("status") == "pending" else []}
            key = str(raw.get("support_key") or raw["id"])  # what the portal and Telnyx support call the order
            found.append(LiveResource(key, str(raw["id"]), attrs, raw.get("created_at", "")))
        return found

    # --- deciding --------------------------------------------------------------------------------------

    def decide(self, section: PortoutPolicy, live: list[LiveResource]) -> Decisions:
        result = Decisions()
        result.notes.extend(note for _, note in self.warnings(section))
        result.notes.extend(sorted({str(o.attrs["listing_note"]) for o in live if o.attrs.get("listing_note")}))
        for order in sorted(live, key=lambda r: r.created_at):
            if order.attrs.get("status") == "pending":
                self._decide(section, order, result)
            else:
                self._look_back(section, order, result)
        return result

    def warnings(self, section: PortoutPolicy) -> list[tuple[Where, str]]:
        """Rules that match every number, and reject rules an earlier authorize rule always wins over."""
        notes: list[tuple[Where, str]] = [
            (("rules", i), f"warning: port-out rule {r.name!r} matches every number (`any: true`): it {r.action}s "
                           "every number no earlier rule decides") for i, r in enumerate(section.rules) if r.conditions.any]
        notes.extend((("rules", i), f"warning: port-out rule {early.name!r} (authorize) matches every number that rule "
                                    f"{late.name!r} (reject) matches, so {late.name!r} never applies; put the reject rule first")
                     for i, early, late in rules.shadowed(section.rules))
        return notes

    def irreversible_cap(self, section: PortoutPolicy) -> int:
        return section.max_authorizations

    def _decide(self, policy: PortoutPolicy, order: LiveResource, result: Decisions) -> None:
        decision = rules.decide(policy.rules, order.attrs["number_tags"], order.attrs)
        deadline = rules.deadline(order.attrs, policy.deadline_hours)
        facts = _facts(order.attrs, deadline)
        rule = decision.rule
        problem = rules.code_problem(rule, order.attrs["rejections"]) if rule and decision.action == "reject" else None
        if rule is None or decision.action == "manual" or problem:
            why = f"cannot be rejected as the policy says: {problem}" if problem else decision.why
            result.attention.append(Attention(self.name, order.key, f"manual: {why}; {facts}",
                                              deadline.isoformat() if deadline else None, _details(order)))
            return
        after = {"status": STATUS_FOR[decision.action], "reason": rules.answer_reason(rule, order.attrs["rejections"]),
                 "comment": rule.comment, "rejection_code": rule.rejection_code if decision.action == "reject" else None}
        before = {**rules.order_facts(order.attrs), "answer_by": deadline.isoformat() if deadline else None}
        fields = (FieldChange("status", "pending", after["status"]),)
        result.changes.append(Change(self.name, order.key, Action.UPDATE, before, after, fields,
                                     f"{IN_WORDS[decision.action]}: {decision.why}; {facts}", order.id,
                                     irreversible=decision.action == "authorize"))

    def _look_back(self, policy: PortoutPolicy, order: LiveResource, result: Decisions) -> None:
        """An authorized order, not yet ported, that the policy would have rejected: there is still time."""
        decision = rules.decide(policy.rules, order.attrs["number_tags"], order.attrs)
        if decision.action != "reject":
            return
        foc = order.attrs.get("foc_date") or order.attrs.get("requested_foc_date")
        message = (f"authorized although the policy would reject it ({decision.why}); it ports on {foc or 'an unknown FOC date'}: "
                   f"call the gaining carrier before then; {_facts(order.attrs, None)}")
        moment = rules.instant(foc)
        result.attention.append(Attention(self.name, order.key, message,
                                          moment.astimezone(timezone.utc).isoformat() if moment else None, _details(order)))

    # --- applying ----------------------------------------------------------------------------------------

    def apply(self, api: Api, steps: list[Step], ctx: ApplyContext) -> None:
        """Answer order by order, rejections first, closest deadline first; go on after a failure."""
        failures: list[tuple[Change, str]] = []
        cause: ReconcilerError | None = None
        keys = [(_action(s.change), (s.change.before or {}).get("answer_by"), s.change.key) for s in steps]
        for index in rules.answer_order(keys):
            step = steps[index]
            try:
                answer(api, step.change)
            except ReconcilerError as exc:
                failures.append((step.change, exc.message))
                cause = cause or exc
                continue
            ctx.step_done(step)
        if cause is not None:
            raise PartialFailure(cause, failures)


def answer(api: Api, change: Change) -> None:
    """Send one answer. The order is re-read first: one answered elsewhere or changed since the plan is
    skipped (an error that says so); one that already has the wanted status is done."""
    after, planned, portout_id = change.after or {}, change.before or {}, str(change.live_id)
    status, code = after["status"], after.get("rejection_code")
    current = portouts.get_portout(api, portout_id)
    if rules.answered_as_wanted(current, status, code):
        return
    moved = rules.moved_on(planned, current)
    if moved:
        raise ReconcilerError(f"port-out {change.key} was not answered: {moved}", "Run `plan` again.")
    try:
        answered = portouts.set_status(api, portout_id, status, after["reason"], rejection_code=code)
    except UnprocessableError:
        # a repeat of a call that went through (its answer was lost) is refused as not pending
        if not rules.answered_as_wanted(portouts.get_portout(api, portout_id), status, code):
            raise
        answered = {"rejection_code": code}
    problem = rules.echo_problem(code, answered)
    if problem:
        raise ReconcilerError(f"port-out {change.key}: {problem}")
    if after.get("comment"):
        portouts.add_comment(api, portout_id, after["comment"])


def _action(change: Change) -> str:
    return "reject" if (change.after or {}).get("status") == STATUS_FOR["reject"] else "authorize"


def _details(order: LiveResource) -> dict[str, Any]:
    return {**rules.order_facts(order.attrs), "support_key": order.attrs.get("support_key")}


def _shown(tags: dict[str, set[str]], number: str, wanted: set[str]) -> list[str] | None:
    """A number's rule tags; None when rules read tags and the number is not in the account."""
    if number in tags:
        return sorted(tags[number])
    return None if wanted else []


def _tags(api: Api, numbers: list[str], wanted: set[str]) -> dict[str, set[str]]:
    """Which of the rules' tags each number on an order has in the account, for the numbers found there
    (phone numbers and mobile numbers). A few numbers are looked up one by one; for more, each tag's numbers
    are listed (pages of 250, however large the orders), and the numbers found under no tag count as
    untagged."""
    if not wanted or not numbers:
        return {}
    found: dict[str, set[str]] = {}
    for raw in api.list_all(MOBILE_PATH):
        if raw.get("phone_number") in numbers:
            found[raw["phone_number"]] = set(raw.get("tags") or ()) & wanted
    if len(numbers) <= LOOKUPS_UP_TO:
        for number in (n for n in numbers if n not in found):
            for raw in api.list_all("/phone_numbers", {"filter[phone_number]": number.lstrip("+")}):
                if raw.get("phone_number") == number:
                    found[number] = set(raw.get("tags") or ()) & wanted
        return found
    on_orders = set(numbers)
    for tag in sorted(wanted):
        for raw in api.list_all("/phone_numbers", {"filter[tag]": tag}):
            if raw.get("phone_number") in on_orders:
                found.setdefault(raw["phone_number"], set()).add(tag)
    return {**{n: set() for n in numbers}, **found}


def _facts(order: dict[str, Any], deadline: datetime | None) -> str:
    parts = [f"numbers {', '.join(order['number_tags']) or '(none)'}",
             f"to {order.get('carrier_name') or 'an unnamed carrier'}" + (f" (SPID {order['spid']})" if order.get("spid") else ""),
             f"support key {order.get('support_key') or '-'}",
             f"requested FOC {order.get('requested_foc_date') or '-'}",
             f"end user {order.get('end_user_name') or '-'}", f"PON {order.get('pon') or '-'}"]
    checked = rules.instant(order.get("checked_at"))
    if deadline is not None and checked is not None:
        parts.append(rules.time_left(deadline - checked, deadline))
    return "; ".join(parts)
