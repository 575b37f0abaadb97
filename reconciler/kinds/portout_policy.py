"""The port-out policy: which pending port-outs to authorize, which to reject, and which to leave to a person.

Another carrier may ask for any number at any time; an order nobody answers is authorized automatically
after a deadline (24 or 48 hours from its creation), and the number leaves the account. The policy is an
ordered list of rules. Each number of a pending port-out takes the action of the first rule that matches
it (by the number itself, its tags in the account, the gaining carrier's name or SPID, the requested FOC
date); a number no rule matches is `manual`. The order as a whole is then:

- rejected if any of its numbers is under a `reject` rule (a protected number is never let go because it
  shares an order with others);
- otherwise left to a person if any number is `manual` (the tool never authorizes what no rule allows);
- otherwise authorized.

Authorize and reject are changes (`PATCH /portouts/{id}/{authorized|rejected-pending}` with a reason, and
a comment when the rule has one). `manual` orders are not changes: they are reported as waiting for a
person, with their deadline, and keep `drift` exiting 2 until someone answers them.

An order that lists eligible rejection codes (`/portouts/rejections/{id}`) can only be rejected with one
of them: a rejecting rule must choose one (`rejection_code`), and a missing or ineligible code stops the
plan. The request schema of the status call lists only a reason, so the code is sent beside it and also
named at the start of the reason, where a person reading the order sees it either way.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reconciler import portouts
from reconciler.errors import PartialFailure, ReconcilerError
from reconciler.kinds.base import Api, ApplyContext, DiffContext, Entry, Kind, KindDiff, LiveResource
from reconciler.kinds.owned_numbers import is_e164
from reconciler.plan import Action, Attention, Change, FieldChange, Step

POLICY_KEY = "policy"
STATUS_FOR = {"authorize": "authorized", "reject": "rejected-pending"}
TAG_READ = "tag:"  # in `reads`: a tag some rule matches on
LOOKUPS_UP_TO = 20  # numbers on pending orders looked up one by one; beyond, each rule tag's numbers are listed


class Match(BaseModel):
    """What a rule matches; every condition given must hold. An empty match matches every number."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phone_numbers: list[str] | None = Field(default=None, description="Numbers in E.164.")
    tags: list[str] | None = Field(default=None, description="The number has any of these tags in the account.")
    carrier_name: list[str] | None = Field(default=None, description="The gaining carrier's name (any of; case ignored).")
    spid: list[str] | None = Field(default=None, description="The gaining carrier's SPID (any of).")
    foc_before: date | None = Field(default=None, description="The requested FOC date is before this day.")
    foc_after: date | None = Field(default=None, description="The requested FOC date is after this day.")

    @field_validator("phone_numbers")
    @classmethod
    def _e164(cls, value: list[str] | None) -> list[str] | None:
        bad = [n for n in value or [] if not (isinstance(n, str) and is_e164(n))]
        if bad:
            raise ValueError(f"not in E.164 format (a +, the country code and digits, quoted): {', '.join(map(str, bad))}")
        return value

    @field_validator("carrier_name", "spid", "tags", "phone_numbers", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def matches(self, number: str, tags: set[str], order: dict[str, Any]) -> bool:
        foc = _day(order.get("requested_foc_date") or order.get("foc_date"))
        checks = (
            self.phone_numbers is None or number in self.phone_numbers,
            self.tags is None or bool(tags & set(self.tags)),
            self.carrier_name is None or str(order.get("carrier_name") or "").casefold() in {c.casefold() for c in self.carrier_name},
            self.spid is None or str(order.get("spid") or "") in self.spid,
            self.foc_before is None or (foc is not None and foc < self.foc_before),
            self.foc_after is None or (foc is not None and foc > self.foc_after),
        )
        return all(checks)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Shown in plans: which rule decided.")
    match: Match = Field(default_factory=Match)
    action: Literal["authorize", "reject", "manual"]
    reason: str | None = Field(default=None, description="Sent with the answer; required to reject.")
    rejection_code: int | None = Field(default=None, description="One of the order's eligible rejection codes.")
    comment: str | None = Field(default=None, description="Added to the port-out as a comment.")

    @model_validator(mode="after")
    def _reject_needs_reason(self) -> Rule:
        if self.action == "reject" and not self.reason:
            raise ValueError(f"rule {self.name!r} rejects and needs a `reason` (the API sends it to the gaining carrier)")
        if self.rejection_code is not None and self.action != "reject":
            raise ValueError(f"rule {self.name!r}: rejection_code goes only with action: reject")
        if self.action == "manual" and (self.reason or self.comment):
            raise ValueError(f"rule {self.name!r}: a manual rule sends nothing, so it takes no reason or comment")
        return self


class PortoutPolicy(Entry):
    deadline_hours: float = Field(
        default=48, gt=0, description="Hours from creation after which an unanswered port-out is authorized automatically.")
    rules: list[Rule] = Field(default_factory=list, description="In order: the first rule matching a number decides for it.")

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[Rule]) -> list[Rule]:
        names = [r.name for r in rules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"rule names must be unique: {', '.join(twice)}")
        return rules


class PortoutPolicyKind(Kind):
    name = "portout_policy"
    title = "port-out"
    model = PortoutPolicy
    key_field = "deadline_hours"  # unused: the policy is a single mapping (key_of)
    path = portouts.PATH
    singleton = True
    prunable = False
    exportable = False
    thresholds = False  # answering many orders at once is the policy working, not a config gone wrong

    def key_of(self, entry: Entry) -> str:
        return POLICY_KEY

    # --- reading: pending port-outs, the tags of their numbers, their eligible rejection codes ---------

    def reads(self, entries: list[Entry]) -> frozenset[str]:
        """`tag:NAME` for each tag a rule matches on: only those are looked up in the account."""
        rules = [rule for entry in entries if isinstance(entry, PortoutPolicy) for rule in entry.rules]
        return frozenset(f"{TAG_READ}{tag}" for rule in rules for tag in rule.match.tags or ())

    def fetch(self, api: Api, fields: frozenset[str] = frozenset()) -> list[LiveResource]:
        checked = datetime.now(timezone.utc).isoformat()
        orders = portouts.pending_portouts(api)
        numbers = sorted({str(n) for raw in orders for n in raw.get("phone_numbers") or []})
        tags = _tags(api, numbers, {f.removeprefix(TAG_READ) for f in fields if f.startswith(TAG_READ)})
        found = []
        for raw in orders:
            on_order = [str(n) for n in raw.get("phone_numbers") or []]
            attrs = {**raw, "checked_at": checked, "number_tags": {n: sorted(tags.get(n, ())) for n in on_order},
                     "rejections": portouts.rejection_codes(api, str(raw["id"]))}
            key = str(raw.get("support_key") or raw["id"])  # what the portal and Telnyx support call the order
            found.append(LiveResource(key, str(raw["id"]), attrs, raw.get("created_at", "")))
        return found

    # --- deciding --------------------------------------------------------------------------------------

    def diff(self, entries: list[Entry], live: list[LiveResource], prune: bool, ctx: DiffContext) -> KindDiff:
        result = KindDiff()
        policy = entries[0] if entries else None
        if not isinstance(policy, PortoutPolicy):
            return result
        for order in sorted(live, key=lambda r: r.created_at):
            self._decide(policy, order, result)
        return result

    def _decide(self, policy: PortoutPolicy, order: LiveResource, result: KindDiff) -> None:
        per_number = {n: _first_rule(policy, n, set(t), order.attrs) for n, t in order.attrs["number_tags"].items()}
        action, rule, why = _order_action(per_number)
        deadline = _deadline(order.attrs, policy.deadline_hours)
        facts = _facts(order.attrs, deadline)
        if action == "manual" or rule is None:
            result.attention.append(Attention(self.name, order.key, f"manual: {why}; {facts}", deadline.isoformat() if deadline else None,
                                              {"phone_numbers": list(per_number), "support_key": order.attrs.get("support_key")}))
            return
        problem = _code_problem(rule, order.attrs["rejections"]) if action == "reject" else None
        if problem:
            result.errors.append(f"port-out {order.key} ({facts}): {problem}")
            return
        after = {"status": STATUS_FOR[action], "reason": _reason(rule, order.attrs["rejections"]), "comment": rule.comment,
                 "rejection_code": rule.rejection_code if action == "reject" else None}
        fields = (FieldChange("status", "pending", after["status"]),)
        result.changes.append(Change(self.name, order.key, Action.UPDATE, {"status": "pending"}, after, fields,
                                     f"{action}: {why}; {facts}", order.id))

    # --- applying ----------------------------------------------------------------------------------------

    def apply_steps(self, api: Api, steps: list[Step], ctx: ApplyContext) -> None:
        for step in steps:
            after = step.change.after or {}
            try:
                portouts.set_status(api, str(step.change.live_id), after["status"], after["reason"],
                                    rejection_code=after.get("rejection_code"))
                if after.get("comment"):
                    portouts.add_comment(api, str(step.change.live_id), after["comment"])
            except ReconcilerError as exc:
                raise PartialFailure(exc, [(step.change, exc.message)]) from exc
            ctx.step_done(step)


def _tags(api: Api, numbers: list[str], wanted: set[str]) -> dict[str, set[str]]:
    """Which of the rules' tags each number on a pending order has in the account. A few numbers are
    looked up one by one; for more, each tag's numbers are listed (pages of 250, however large the orders)."""
    if not wanted or not numbers:
        return {}
    found: dict[str, set[str]] = {}
    if len(numbers) <= LOOKUPS_UP_TO:
        for number in numbers:
            for raw in api.list_all("/phone_numbers", {"filter[phone_number]": number.lstrip("+")}):
                if raw.get("phone_number") == number:
                    found[number] = set(raw.get("tags") or ()) & wanted
        return found
    on_orders = set(numbers)
    for tag in sorted(wanted):
        for raw in api.list_all("/phone_numbers", {"filter[tag]": tag}):
            if raw.get("phone_number") in on_orders:
                found.setdefault(raw["phone_number"], set()).add(tag)
    return found


def _first_rule(policy: PortoutPolicy, number: str, tags: set[str], order: dict[str, Any]) -> Rule | None:
    return next((rule for rule in policy.rules if rule.match.matches(number, tags, order)), None)


def _order_action(per_number: dict[str, Rule | None]) -> tuple[str, Rule | None, str]:
    """The order's action, the rule behind it, and why, in words."""
    rejecting = [(n, r) for n, r in per_number.items() if r is not None and r.action == "reject"]
    manual = [n for n, r in per_number.items() if r is None or r.action == "manual"]
    authorizing = [(n, r) for n, r in per_number.items() if r is not None and r.action == "authorize"]
    if rejecting:
        number, rule = rejecting[0]
        why = f"rule {rule.name!r} protects {', '.join(n for n, _ in rejecting)}"
        if authorizing or manual:
            why += ", so the whole order is rejected although it also holds " + ", ".join(
                f"{n} ({'rule ' + repr(r.name) if r else 'no rule'})" for n, r in per_number.items() if (n, r) not in rejecting)
        return "reject", rule, why
    if manual:
        words = [f"{n} ({'rule ' + repr(r.name) if r else 'no rule matches'})" for n, r in per_number.items() if n in manual]
        return "manual", None, "left to a person: " + ", ".join(words)
    if not authorizing:
        return "manual", None, "the order lists no phone numbers"
    rules = sorted({r.name for _, r in authorizing})
    return "authorize", authorizing[0][1], f"every number is allowed to leave (rule {', '.join(map(repr, rules))})"


def _code_problem(rule: Rule, eligible: list[dict[str, Any]]) -> str | None:
    codes = {r.get("code"): r for r in eligible}
    listed = ", ".join(f"{r.get('code')} ({r.get('description') or 'no description'})" for r in eligible) or "none"
    if rule.rejection_code is None:
        if not codes:
            return None
        return (f"rule {rule.name!r} rejects, and this order can only be rejected with one of its eligible codes: "
                f"{listed}; choose one with `rejection_code:` on the rule")
    if rule.rejection_code not in codes:
        return f"rule {rule.name!r} rejects with code {rule.rejection_code}, which this order does not accept (eligible: {listed})"
    if codes[rule.rejection_code].get("reason_required") and not rule.reason:
        return f"rejection code {rule.rejection_code} needs a reason and rule {rule.name!r} gives none"
    return None


def _reason(rule: Rule, eligible: list[dict[str, Any]]) -> str:
    text = rule.reason or f"Authorized by port-out policy rule {rule.name!r}."
    if rule.rejection_code is not None:
        description = next((r.get("description") for r in eligible if r.get("code") == rule.rejection_code), "")
        text = f"[{rule.rejection_code}{': ' + description if description else ''}] {text}"
    return text


def _deadline(order: dict[str, Any], hours: float) -> datetime | None:
    created = _instant(order.get("created_at") or order.get("inserted_at"))
    return None if created is None else created + timedelta(hours=hours)


def _facts(order: dict[str, Any], deadline: datetime | None) -> str:
    parts = [f"numbers {', '.join(order['number_tags']) or '(none)'}",
             f"to {order.get('carrier_name') or 'an unnamed carrier'}" + (f" (SPID {order['spid']})" if order.get("spid") else ""),
             f"support key {order.get('support_key') or '-'}"]
    checked = _instant(order.get("checked_at"))
    if deadline is not None and checked is not None:
        parts.append(_time_left(deadline - checked, deadline))
    return "; ".join(parts)


def _time_left(left: timedelta, deadline: datetime) -> str:
    at = deadline.strftime("%Y-%m-%d %H:%M UTC")
    minutes = int(abs(left.total_seconds()) // 60)
    span = f"{minutes // 60}h {minutes % 60:02d}m"
    if left.total_seconds() <= 0:
        return f"deadline passed {span} ago ({at}): it may be authorized automatically at any moment"
    return f"{span} left before it is authorized automatically ({at})"


def _instant(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _day(text: Any) -> date | None:
    moment = _instant(text)
    return moment.date() if moment else None
