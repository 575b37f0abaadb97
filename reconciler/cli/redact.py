"""A last line of defence for secrets in what the CLI prints: error messages and log lines.

Plans never hold secret values in the first place (plan.Change.shown); but an error message or a log
line may quote what the API was sent or said. Every secret the run knows of (the API key, the config's
sensitive values) is registered here, and the CLI passes its messages and log records through `scrub`,
which replaces each whole occurrence with `(sensitive)`. A match must stand alone (no letter or digit
on either side), so a PIN such as 1234 does not mangle a phone number that ends in it.

A message may quote a secret escaped, so each secret is also looked for as JSON writes it (quote, backslash,
non-ASCII and slash escaped), as Python's repr writes it, and URL-encoded (path or form style).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from reconciler.plan import SENSITIVE

_known: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register(values: Iterable[str]) -> None:
    global _pattern
    fresh = {v for v in values if v} - _known
    if not fresh:
        return
    _known.update(fresh)
    forms = {form for value in _known for form in escaped_forms(value)}
    alternatives = "|".join(re.escape(v) for v in sorted(forms, key=len, reverse=True))
    _pattern = re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")


def escaped_forms(value: str) -> set[str]:
    """`value` as it appears written plainly, in JSON (ASCII or not, `/` escaped or not), in a Python repr
    (either quote), and URL-encoded (path or form style)."""
    in_json = json.dumps(value)[1:-1]
    forms = {value, in_json, json.dumps(value, ensure_ascii=False)[1:-1], in_json.replace("/", "\\/"),
             repr(value)[1:-1], repr(value + '"')[1:-2], quote(value), quote(value, safe=""), quote_plus(value, safe="")}
    return {form for form in forms if form}


def scrub(text: str) -> str:
    return text if _pattern is None else _pattern.sub(SENSITIVE, text)


class ScrubFilter(logging.Filter):
    """Rewrites each log record's message with the secrets scrubbed out."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        return True
