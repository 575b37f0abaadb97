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
from collections import Counter
from collections.abc import Callable
from typing import IO, Any

from reconciler.plan import SUMMARY_KEYS, Action, Attention, Change, Plan

JSON_FORMAT = "telnyx-reconciler/plan"
FORMATS = ("text", "json", "markdown")

# Summary words (Plan.summary's keys; both orders of a replace count as `replace`).
PLAN_WORDS = {"create": "to create", "update": "to update", "replace": "to replace", "delete": "to delete"}
DRIFT_WORDS = {"create": "missing", "update": "changed", "replace": "changed (replace needed)", "delete": "unmanaged"}


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
    parts = ", ".join(f"{counts[key]} {words[key]}" for key in SUMMARY_KEYS)
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
    label = DRIFT_WORDS[change.action.counted_as] if drift else change.action.value
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
        label = DRIFT_WORDS[change.action.counted_as] if drift else change.action.value
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


# --- markdown within a size limit (pull-request comments, job summaries) ------------------------------

MORE_CHANGES = "… and {n:,} more changes{where}"
ROW_LIMIT = 2_000  # one change's details beyond this are cut: a row must never crowd out the rest


def headline(plan: Plan, drift: bool = False) -> str:
    """One line: the plan's counts, or that there is nothing to change."""
    return _no_changes(drift, plan) if plan.empty else summary_line(plan, drift)


def render_markdown_limited(plan: Plan, limit: int, *, drift: bool = False, more_where: str = "") -> str:
    """The plan as Markdown of at most `limit` characters: a summary table per kind first, then each kind's
    changes in a <details> block. When it does not fit, the largest kinds are shortened first, each ending
    with "… and N more changes" followed by `more_where` (where the full plan can be read)."""
    head = _limited_head(plan, drift)
    sections = _sections(plan, drift)
    tail = "".join(f"\n> {_md(note)}\n" for note in plan.notes)
    budget = limit - len(head) - len(tail) - sum(len(s.frame) for s in sections)
    allowances = _share(budget, [s.size for s in sections], reserve=len(MORE_CHANGES) + len(more_where) + 16)
    body = "".join(s.fit(allowance, more_where) for s, allowance in zip(sections, allowances, strict=True))
    return (head + body + tail)[:limit]


def _limited_head(plan: Plan, drift: bool) -> str:
    title = "Telnyx drift report" if drift else "Telnyx plan"
    if plan.empty and not plan.attention:
        return f"### {title}\n\n{_no_changes(drift, plan)}\n"
    words = DRIFT_WORDS if drift else PLAN_WORDS
    lines = [f"### {title}\n", f"**{headline(plan, drift)}**\n",
             "| kind | " + " | ".join(words[key] for key in SUMMARY_KEYS) + " |", "|---" * (len(SUMMARY_KEYS) + 1) + "|"]
    per_kind: dict[str, Counter[str]] = {}
    for change in plan.changes:
        per_kind.setdefault(change.kind, Counter())[change.action.counted_as] += 1
    for kind, counts in per_kind.items():
        lines.append(f"| `{kind}` | " + " | ".join(f"{counts[key]:,}" for key in SUMMARY_KEYS) + " |")
    return "\n".join(lines) + "\n\n"


class _Section:
    """One <details> block: a frame (summary line and table head) and rows, shortened to fit if needed."""

    def __init__(self, title: str, table_head: str, rows: list[str]) -> None:
        self.frame = f"<details><summary>{title}</summary>\n\n{table_head}" + "\n</details>\n\n"
        self.rows = [row if len(row) <= ROW_LIMIT else row[: ROW_LIMIT - 6] + " … |\n" for row in rows]
        self.size = sum(len(r) for r in self.rows)

    def fit(self, allowance: int, more_where: str) -> str:
        shown: list[str] = []
        used = 0
        for row in self.rows:
            if used + len(row) > allowance:
                break
            shown.append(row)
            used += len(row)
        left = len(self.rows) - len(shown)
        if left:
            shown.append("\n" + MORE_CHANGES.format(n=left, where=more_where) + "\n")
        head, _, end = self.frame.partition("\n</details>")
        return head + "".join(shown) + "\n</details>" + end


def _sections(plan: Plan, drift: bool) -> list[_Section]:
    sections = []
    if plan.attention:
        rows = [f"| `{a.address}` | {a.deadline or '-'} | {_md(a.message)} |\n" for a in by_deadline(plan)]
        sections.append(_Section(f"Waiting for a person: {len(rows):,}", "| resource | deadline | details |\n|---|---|---|\n", rows))
    per_kind: dict[str, list[str]] = {}
    for change in plan.changes:
        per_kind.setdefault(change.kind, []).append(_markdown_row(change, drift))
    for kind, rows in per_kind.items():
        header = "| | resource | change | details |\n|---|---|---|---|\n"
        sections.append(_Section(f"<code>{kind}</code>: {len(rows):,} change(s)", header, rows))
    return sections


def _markdown_row(change: Change, drift: bool) -> str:
    label = DRIFT_WORDS[change.action.counted_as] if drift else change.action.value
    details = "<br>".join(_md(line) for line in _detail_lines(change))
    if change.reason:
        details = f"{_md(change.reason)}<br>{details}" if details else _md(change.reason)
    return f"| `{change.action.symbol}` | `{change.address}` | {label} | {details} |\n"


def _share(budget: int, sizes: list[int], reserve: int) -> list[int]:
    """Split `budget` between sections so the small ones are shown whole and the largest are shortened
    first (each shortened one keeps `reserve` for its "… and N more" line)."""
    allowances = [0] * len(sizes)
    left = max(0, budget - reserve * len(sizes))
    for position, index in enumerate(sorted(range(len(sizes)), key=lambda i: sizes[i])):
        fair = left // (len(sizes) - position)
        allowances[index] = min(sizes[index], fair)
        left -= allowances[index]
    return allowances
