"""The sticky plan comment: one per pull request and config, found again by a hidden marker that also
carries the checksum of the plan it shows (what reviewers saw), and always within GitHub's size limit."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.github.client import MAX_BODY
from reconciler.plan import Plan
from reconciler.render import render_markdown_limited

MARKER = "<!-- telnyx-reconciler:plan config={config} checksum={checksum} -->"
_MARKER_RE = re.compile(r"<!-- telnyx-reconciler:plan config=(\"(?:[^\"\\]|\\.)*\") checksum=([0-9a-f]{64}|none) -->")
SUMMARY_LIMIT = 900_000  # GitHub shows at most 1 MiB of one step's job summary; characters may take more than a byte
NO_PLAN = "none"


@dataclass(frozen=True)
class Reviewed:
    """A plan comment found on a pull request: its id and the checksum it showed (None: no plan shown)."""

    comment_id: int
    checksum: str | None


def config_label(paths: Iterable[str]) -> str:
    return " ".join(paths) or "."


def marker(config: str, checksum: str | None) -> str:
    return MARKER.format(config=json.dumps(config).replace("--", "-\\u002d"), checksum=checksum or NO_PLAN)


def plan_body(config: str, plan: Plan, *, drift: bool = False, run_url: str = "", note: str = "") -> str:
    checksum = plan.checksum  # computed over every change: once
    head = marker(config, checksum) + "\n"
    summary_link = f" · [full plan in the job summary]({run_url})" if run_url else ""
    foot = f"\n<sub>Config `{config}` · checksum `{checksum}`{summary_link}</sub>\n"
    lead = f"> {note}\n\n" if note else ""
    where = f" in the [job summary]({run_url})" if run_url else " in the job summary"
    markdown = render_markdown_limited(plan, MAX_BODY - len(head) - len(foot) - len(lead) - 64, drift=drift, more_where=where)
    return head + lead + markdown + foot


def failure_body(config: str, title: str, lines: list[str]) -> str:
    """Why no plan could be shown: every line of the reason (each config problem with file and line)."""
    head = (marker(config, None) + "\n" + f"### Telnyx plan: {title}\n\n"
            f"Config `{config}`. No plan was made, so nothing can be applied from this pull request.\n\n")
    text = "\n".join(lines).replace("```", "`\u200b``")
    block = "```\n" + text[: MAX_BODY - len(head) - 200] + "\n```\n"
    return head + block


def summary_markdown(plan: Plan, *, drift: bool = False) -> str:
    return render_markdown_limited(plan, SUMMARY_LIMIT, drift=drift, more_where=" (too many to show here; use `plan --format json`)")


def find_reviewed(comments: list[dict[str, Any]], config: str, author: str) -> Reviewed | None:
    """The last plan comment for `config` written by `author` (a marker written by anyone else proves nothing)."""
    wanted = json.dumps(config).replace("--", "-\\u002d")
    found = None
    for item in comments:
        match = _MARKER_RE.search(item["body"])
        login = (item.get("user") or {}).get("login") if isinstance(item.get("user"), dict) else None
        if match and match.group(1) == wanted and login == author:
            found = Reviewed(item["id"], None if match.group(2) == NO_PLAN else match.group(2))
    return found
