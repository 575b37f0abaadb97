"""Render a Plan as text, JSON or Markdown onto a stream the caller passes in.

The same plan renders as a plan (what apply will do) or as a drift report (what changed in the account
outside git): only the words differ. The JSON document is versioned; docs/plan-json.md describes it.

Names come from the config and the account, so they are shown, never obeyed: control characters are
written as escapes (`\\x1b`) in text, Markdown and HTML are escaped in Markdown, and a key longer than
`MAX_SHOWN_KEY` is cut in headings (its full value stays in the field details and the JSON).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import IO, Any

from reconciler.plan import Action, Attention, Change, Plan

JSON_FORMAT = "telnyx-reconciler/plan"
FORMATS = ("text", "json", "markdown")

PLAN_WORDS = {
    Action.CREATE: "to create",
    Action.UPDATE: "to update",
    Action.REPLACE: "to replace",
    Action.DELETE: "to delete",
}
DRIFT_WORDS = {
    Action.CREATE: "missing",
    Action.UPDATE: "changed",
    Action.REPLACE: "changed (replace needed)",
    Action.DELETE: "unmanaged",
}


MAX_SHOWN_KEY = 200
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
UNESCAPED_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029]")
MARKDOWN = re.compile(r"([\\`*_\[\]<>|#!~])")


def visible(text: str) -> str:
    """`text` with each control character written as its escape, so output never drives a terminal."""
    return CONTROL.sub(lambda m: ascii(m.group())[1:-1], text)


def shown_key(key: str) -> str:
    key = visible(key)
    return key if len(key) <= MAX_SHOWN_KEY else f"{key[:MAX_SHOWN_KEY]}... ({len(key) - MAX_SHOWN_KEY:,} more characters)"


def shown_address(item: Change | Attention) -> str:
    """`kind[key]` for a heading or a progress line: escaped, and cut when very long."""
    return f"{item.kind}[{shown_key(item.key)}]"


def render(plan: Plan, fmt: str, stream: IO[str], *, drift: bool = False) -> None:
    RENDERERS[fmt](plan, stream, drift)


def summary_line(plan: Plan, drift: bool = False) -> str:
    words = DRIFT_WORDS if drift else PLAN_WORDS
    counts = plan.summary()
    parts = ", ".join(f"{counts[a.value]} {words[a]}" for a in Action)
    return f"{'Drift' if drift else 'Plan'}: {parts}."


def value(v: Any) -> str:
    """One value as it reads in YAML-ish text: strings quoted, structures as compact JSON."""
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def _no_changes(drift: bool, plan: Plan) -> str:
    if plan.attention:
        nothing = "No drift to undo" if drift else "No changes to apply"
        return f"{nothing}; {len(plan.attention)} item(s) above wait for a person."
    return "No drift: the account matches the config." if drift else "No changes: the account matches the config."


def by_deadline(plan: Plan) -> list[Attention]:
    """Items waiting for a person, the closest deadline first (those without one last)."""
    return sorted(plan.attention, key=lambda a: (a.deadline is None, a.deadline or "", a.key))


def _attention_text(plan: Plan, stream: IO[str]) -> None:
    if not plan.attention:
        return
    stream.write(f"Waiting for a person ({len(plan.attention)}), closest deadline first:\n")
    for item in by_deadline(plan):
        stream.write(f"    ? {shown_address(item)}  {visible(item.message)}\n")
    stream.write("\n")


# --- text --------------------------------------------------------------------------------------------


def render_text(plan: Plan, stream: IO[str], drift: bool = False) -> None:
    _attention_text(plan, stream)
    for change in plan.changes:
        stream.write(_text_head(change, drift) + "\n")
        for line in _detail_lines(change):
            stream.write(f"      {visible(line)}\n")
    for note in map(visible, plan.notes):
        stream.write(f"Note: {note}\n\n" if plan.empty else f"\nNote: {note}\n")
    stream.write(_no_changes(drift, plan) + "\n" if plan.empty else "\n" + summary_line(plan, drift) + "\n")


def _text_head(change: Change, drift: bool) -> str:
    label = DRIFT_WORDS[change.action] if drift else change.action.value
    head = f"  {change.action.symbol:>3} {shown_address(change)}  ({label}"
    return head + (f": {visible(change.reason)})" if change.reason else ")")


def _detail_lines(change: Change) -> list[str]:
    """Field-level detail, secrets shown as `(sensitive)` (Change.shown)."""
    if change.action is Action.CREATE:
        return [f"{k}: {value(v)}" for k, v in sorted((change.shown(change.after) or {}).items())]
    if change.action is Action.DELETE:
        return []
    return [f"{f.path}: {value(f.before)} -> {value(f.after)}" for f in change.shown_fields()]


# --- json --------------------------------------------------------------------------------------------


def plan_document(plan: Plan, drift: bool = False) -> dict[str, Any]:
    document = {"format": JSON_FORMAT, **plan.to_dict(), "kind": "drift" if drift else "plan"}
    document.pop("live_counts", None)
    return document


def render_json(plan: Plan, stream: IO[str], drift: bool = False) -> None:
    text = json.dumps(plan_document(plan, drift), indent=2, sort_keys=True, ensure_ascii=False)
    # JSON escapes C0 characters but not DEL and C1 (`\x9b` starts a terminal command): the same string, escaped
    stream.write(UNESCAPED_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")


# --- markdown ----------------------------------------------------------------------------------------


def render_markdown(plan: Plan, stream: IO[str], drift: bool = False) -> None:
    title = "Telnyx drift report" if drift else "Telnyx plan"
    stream.write(f"### {title}\n\n")
    _attention_markdown(plan, stream)
    if plan.empty:
        stream.write(_no_changes(drift, plan) + "\n")
        for note in plan.notes:
            stream.write(f"\n> {_md(note)}\n")
        return
    stream.write(f"**{summary_line(plan, drift)}**\n\n")
    stream.write("| | resource | change | details |\n|---|---|---|---|\n")
    for change in plan.changes:
        label = DRIFT_WORDS[change.action] if drift else change.action.value
        details = "<br>".join(_md(line) for line in _detail_lines(change))
        if change.reason:
            details = f"{_md(change.reason)}<br>{details}" if details else _md(change.reason)
        stream.write(f"| `{change.action.symbol}` | {_code(shown_address(change))} | {label} | {details} |\n")
    for note in plan.notes:
        stream.write(f"\n> {_md(note)}\n")


def _attention_markdown(plan: Plan, stream: IO[str]) -> None:
    if not plan.attention:
        return
    stream.write(f"**Waiting for a person: {len(plan.attention)}** (closest deadline first)\n\n")
    stream.write("| resource | deadline | details |\n|---|---|---|\n")
    for item in by_deadline(plan):
        stream.write(f"| {_code(shown_address(item))} | {_md(item.deadline or '-')} | {_md(item.message)} |\n")
    stream.write("\n")


def _md(text: str) -> str:
    """Text for a table cell: Markdown and HTML characters escaped (`</details>` stays text), one line."""
    return MARKDOWN.sub(r"\\\1", visible(text))


def _code(text: str) -> str:
    """A code span that holds `text` whatever backticks it has; `|` escaped, as a table cell needs."""
    text = visible(text).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


RENDERERS: dict[str, Callable[[Plan, IO[str], bool], None]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
}
