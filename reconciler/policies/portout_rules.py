"""The port-out policy's rules and decisions: pure functions over an order's facts, no API calls.

A rule's `match` holds conditions; every condition given must hold. A condition is evaluated to true,
false or unknown (the order or the account lacks what it needs: no requested FOC date, no carrier, a
number whose tags cannot be read). A number takes the first rule whose match is true; a rule that is
unknown for it stops the search and sends the number to a person, so that a later rule never decides
what an earlier one could not rule out. The order as a whole is rejected when any number is under a
`reject` rule, left to a person when any number is `manual`, and authorized only when every number is
allowed to go.

Used by the port-out policy (policies/portout.py), which does the reading and the answering; the mutation
check (scripts/mutation_check.py) breaks the reject-wins rule here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reconciler.kinds.owned_numbers import is_e164

GUIDE_WINDOW_HOURS = 48  # the guide: an unanswered order is authorized after 24 or 48 hours
DEFAULT_DEADLINE_HOURS = 24  # the earlier of the two: the plan never promises time the account may not have
DEFAULT_MAX_AUTHORIZATIONS = 10
CONDITIONS = ("phone_numbers", "tags", "carrier_name", "spid", "foc_before", "foc_after")
Verdict = bool | None  # None: cannot be evaluated


def same_name(value: Any) -> str:
    """Carrier names and SPIDs compare ignoring case and surrounding whitespace."""
    return str(value or "").strip().casefold()


class Match(BaseModel):
    """What a rule matches; every condition given must hold. `any: true` alone matches every number."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    any: Literal[True] | None = Field(default=None, description="Match every number (only on the last rule).")
    phone_numbers: list[str] | None = Field(default=None, description="Numbers in E.164.")
    tags: list[str] | None = Field(default=None, description="The number has any of these tags in the account.")
    carrier_name: list[str] | None = Field(
        default=None, description="The gaining carrier's name (any of; case and surrounding spaces ignored).")
    spid: list[str] | None = Field(default=None, description="The gaining carrier's SPID (any of; case and surrounding spaces ignored).")
    foc_before: date | None = Field(default=None, description="The requested FOC date, in the order's own time zone, is before this day.")
    foc_after: date | None = Field(default=None, description="The requested FOC date, in the order's own time zone, is after this day.")

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

    @model_validator(mode="after")
    def _a_real_condition(self) -> Match:
        given = [name for name in CONDITIONS if getattr(self, name) is not None]
        empty = [name for name in given if getattr(self, name) == [] or getattr(self, name) == [""]]
        if empty:
            raise ValueError(f"match: {', '.join(empty)} is empty and would match nothing; list values, or remove it")
        if self.any and given:
            raise ValueError("match: `any: true` matches every number and takes no other condition")
        if not self.any and not given:
            raise ValueError(f"match has no condition (one of: {', '.join(CONDITIONS)}); a rule meant to match "
                             "every number says `match: {any: true}`, as the last rule")
        return self

    def evaluate(self, number: str, tags: set[str] | None, order: dict[str, Any]) -> tuple[Verdict, list[str]]:
        """(true/false/unknown, what is missing when unknown)."""
        if self.any:
            return True, []
        checks = [check for check in self._checks(number, tags, order) if check is not None]
        if any(verdict is False for verdict, _ in checks):
            return False, []
        missing = [words for verdict, words in checks if verdict is None]
        return (None, missing) if missing else (True, [])

    def _checks(self, number: str, tags: set[str] | None, order: dict[str, Any]) -> list[tuple[Verdict, str] | None]:
        foc = foc_day(order)
        carrier, spid = same_name(order.get("carrier_name")), same_name(order.get("spid"))
        return [
            None if self.phone_numbers is None else (number in self.phone_numbers, ""),
            None if self.tags is None else (None if tags is None else bool(tags & set(self.tags)),
                                            f"{number} is not in the account, so its tags are unknown"),
            None if self.carrier_name is None else (_among(carrier, self.carrier_name), "the order names no carrier"),
            None if self.spid is None else (_among(spid, self.spid), "the order has no SPID"),
            None if self.foc_before is None else (None if foc is None else foc < self.foc_before,
                                                  "the order has no requested FOC date"),
            None if self.foc_after is None else (None if foc is None else foc > self.foc_after,
                                                 "the order has no requested FOC date"),
        ]

    def covers(self, other: Match) -> bool:
        """Whether every number `other` matches is matched by this one too (a cautious yes: only when
        each condition here is implied by the same condition there)."""
        if self.any:
            return True
        if other.any:
            return False
        return all(self._covers_one(name, getattr(other, name)) for name in CONDITIONS if getattr(self, name) is not None)

    def _covers_one(self, name: str, theirs: Any) -> bool:
        mine = getattr(self, name)
        if theirs is None:
            return False
        if name == "foc_before":
            return bool(theirs <= mine)
        if name == "foc_after":
            return bool(theirs >= mine)
        norm = same_name if name in ("carrier_name", "spid") else str
        return {norm(v) for v in theirs} <= {norm(v) for v in mine}


def _among(value: str, wanted: list[str]) -> Verdict:
    return None if not value else value in {same_name(w) for w in wanted}


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Shown in plans: which rule decided.")
    match: Match | None = Field(default=None, description="Required: the conditions, or `{any: true}` on the last rule.")
    action: Literal["authorize", "reject", "manual"]
    reason: str | None = Field(default=None, description="Sent with the answer; required to reject.")
    rejection_code: int | None = Field(default=None, description="One of the order's eligible rejection codes.")
    comment: str | None = Field(default=None, description="Added to the port-out as a comment.")

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.match is None:
            raise ValueError(f"rule {self.name!r} has no `match`; give a condition, or `match: {{any: true}}` "
                             "on the last rule to match every number")
        if self.action == "reject" and not self.reason:
            raise ValueError(f"rule {self.name!r} rejects and needs a `reason` (the API sends it to the gaining carrier)")
        if self.rejection_code is not None and self.action != "reject":
            raise ValueError(f"rule {self.name!r}: rejection_code goes only with action: reject")
        if self.action == "manual" and (self.reason or self.comment):
            raise ValueError(f"rule {self.name!r}: a manual rule sends nothing, so it takes no reason or comment")
        return self

    @property
    def conditions(self) -> Match:
        assert self.match is not None  # checked by the validator
        return self.match


class PortoutPolicy(BaseModel):
    # The `portout_policy:` section: one mapping, not a list of entries (a docstring would become the
    # section's description in the JSON Schema).
    model_config = ConfigDict(extra="forbid", frozen=True)

    deadline_hours: float = Field(
        default=DEFAULT_DEADLINE_HOURS, gt=0, le=GUIDE_WINDOW_HOURS, allow_inf_nan=False,
        description="Hours from creation after which an unanswered port-out is authorized automatically "
                    "(the guide says 24 or 48; 24 unless the account knows its window is 48).")
    max_authorizations: int = Field(
        default=DEFAULT_MAX_AUTHORIZATIONS, ge=0,
        description="At most this many authorizations in one run; a plan with more stops and names them.")
    rules: list[Rule] = Field(default_factory=list, description="In order: the first rule matching a number decides for it.")

    @field_validator("rules")
    @classmethod
    def _unique_names_and_catch_all_last(cls, rules: list[Rule]) -> list[Rule]:
        names = [r.name for r in rules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"rule names must be unique: {', '.join(twice)}")
        early = [r.name for r in rules[:-1] if r.conditions.any]
        if early:
            raise ValueError(f"rule {early[0]!r} matches every number (`any: true`), so the rules after it would never "
                             "apply; make it the last rule")
        return rules


# --- deciding ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What decided one number: a rule, or nothing (`why_manual` says why, when a rule could not be evaluated)."""

    rule: Rule | None
    why_manual: str = ""


@dataclass(frozen=True)
class Decision:
    action: Literal["authorize", "reject", "manual"]
    rule: Rule | None
    why: str


def outcome(rules: Sequence[Rule], number: str, tags: set[str] | None, order: dict[str, Any]) -> Outcome:
    for rule in rules:
        verdict, missing = rule.conditions.evaluate(number, tags, order)
        if verdict is True:
            return Outcome(rule)
        if verdict is None:
            return Outcome(None, f"rule {rule.name!r} cannot be evaluated: {'; '.join(missing)}")
    return Outcome(None, "no rule matches")


def decide(rules: Sequence[Rule], number_tags: dict[str, list[str] | None], order: dict[str, Any]) -> Decision:
    """The order's action, the rule behind it, and why, in words."""
    per_number = {n: outcome(rules, n, None if t is None else set(t), order) for n, t in number_tags.items()}
    rejecting = [(n, o.rule) for n, o in per_number.items() if o.rule is not None and o.rule.action == "reject"]
    if rejecting:
        rule = rejecting[0][1]
        why = f"rule {rule.name!r} protects {', '.join(n for n, _ in rejecting)}"
        others = [f"{n} ({_words(o)})" for n, o in per_number.items() if n not in dict(rejecting)]
        if others:
            why += ", so the whole order is rejected although it also holds " + ", ".join(others)
        return Decision("reject", rule, why)
    manual = [f"{n} ({_words(o)})" for n, o in per_number.items() if o.rule is None or o.rule.action == "manual"]
    if manual:
        return Decision("manual", None, "left to a person: " + ", ".join(manual))
    if not per_number:
        return Decision("manual", None, "the order lists no phone numbers")
    names = sorted({o.rule.name for o in per_number.values() if o.rule is not None})
    first = next(o.rule for o in per_number.values() if o.rule is not None)
    return Decision("authorize", first, f"every number is allowed to leave (rule {', '.join(map(repr, names))})")


def _words(o: Outcome) -> str:
    return f"rule {o.rule.name!r}" if o.rule is not None else o.why_manual


def code_problem(rule: Rule, eligible: list[dict[str, Any]]) -> str | None:
    """Why this order cannot be rejected with the rule's code, or None."""
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


def answer_reason(rule: Rule, eligible: list[dict[str, Any]]) -> str:
    text = rule.reason or f"Authorized by port-out policy rule {rule.name!r}."
    if rule.rejection_code is not None:
        description = next((r.get("description") for r in eligible if r.get("code") == rule.rejection_code), "")
        text = f"[{rule.rejection_code}{': ' + description if description else ''}] {text}"
    return text


def shadowed(rules: Sequence[Rule]) -> list[tuple[int, Rule, Rule]]:
    """(index of the later rule, earlier authorize rule, later reject rule) where the authorize rule matches
    every number the reject rule matches, so the rejection can never happen."""
    found = []
    for later, rule in enumerate(rules):
        if rule.action != "reject":
            continue
        earlier = next((r for r in rules[:later] if r.action == "authorize" and r.conditions.covers(rule.conditions)), None)
        if earlier is not None:
            found.append((later, earlier, rule))
    return found


def catch_all(rules: Iterable[Rule]) -> Rule | None:
    return next((r for r in rules if r.conditions.any), None)


# --- time --------------------------------------------------------------------------------------------


def instant(text: Any) -> datetime | None:
    """An ISO 8601 moment, keeping its own offset (UTC when it has none)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def foc_day(order: dict[str, Any]) -> date | None:
    """The requested FOC date as a calendar day in the order's own time zone."""
    moment = instant(order.get("requested_foc_date") or order.get("foc_date"))
    return moment.date() if moment else None


def deadline(order: dict[str, Any], hours: float) -> datetime | None:
    created = instant(order.get("created_at") or order.get("inserted_at"))
    if created is None or not math.isfinite(hours):
        return None
    return created.astimezone(timezone.utc) + timedelta(hours=min(hours, GUIDE_WINDOW_HOURS))


def time_left(left: timedelta, at: datetime) -> str:
    shown = at.strftime("%Y-%m-%d %H:%M UTC")
    minutes = int(abs(left.total_seconds()) // 60)
    span = f"{minutes // 60}h {minutes % 60:02d}m"
    if left.total_seconds() <= 0:
        return f"deadline passed {span} ago ({shown}): it may be authorized automatically at any moment"
    return f"{span} left before it is authorized automatically ({shown})"


def answer_order(items: Iterable[tuple[str, str | None, str]]) -> list[int]:
    """Indexes of (action, deadline ISO, key) in the order to answer them: rejections first, each group by
    deadline (closest first; an unknown deadline first too, as it may be the closest)."""
    listed = list(items)
    return sorted(range(len(listed)), key=lambda i: (listed[i][0] != "reject", listed[i][1] or "", listed[i][2]))


# --- answering ---------------------------------------------------------------------------------------

WATCHED = ("phone_numbers", "carrier_name", "spid")  # what a reviewer approved about the order


def order_facts(order: dict[str, Any]) -> dict[str, Any]:
    """The order as a reviewer sees and approves it (the `before` of an answer)."""
    return {"status": order.get("status"), "phone_numbers": sorted(str(n) for n in order.get("phone_numbers") or []),
            "carrier_name": order.get("carrier_name"), "spid": order.get("spid"),
            "requested_foc_date": order.get("requested_foc_date"), "end_user_name": order.get("end_user_name"),
            "pon": order.get("pon")}


def answered_as_wanted(current: dict[str, Any], status: str, code: int | None) -> bool:
    """Whether the order already has the status the tool meant to give it (and the code, for a rejection)."""
    return current.get("status") == status and (code is None or current.get("rejection_code") == code)


def moved_on(planned: dict[str, Any], current: dict[str, Any]) -> str | None:
    """Why an order re-read just before answering is no longer the one planned, or None."""
    if current.get("status") != "pending":
        return f"it is now {current.get('status')!r}, not pending (answered elsewhere)"
    now = order_facts(current)
    changed = [f"{name} {planned.get(name)!r} -> {now.get(name)!r}" for name in WATCHED
               if name in planned and _same(planned.get(name)) != _same(now.get(name))]
    return f"it changed since the plan: {'; '.join(changed)}" if changed else None


def _same(value: Any) -> Any:
    return sorted(map(str, value)) if isinstance(value, list) else same_name(value)


def echo_problem(sent: int | None, answer: dict[str, Any]) -> str | None:
    """Words when the answer to a rejection does not carry the rejection code that was sent."""
    if sent is None or answer.get("rejection_code") == sent:
        return None
    return (f"the rejection was sent with code {sent} but the answer shows rejection_code "
            f"{answer.get('rejection_code')!r}: the order may stand rejected without its code; check it in the portal")
