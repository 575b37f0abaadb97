"""How the diff compares write-only fields: values the API takes but never shows back (an integration
secret's token, a phone number's PIN and bundle), so their live view is null.

Such a field is compared with the keyed fingerprint of what the tool itself last wrote to that live
resource (state.py keeps the records; the diff's context computes and looks them up). Equal: the account
holds the config's value, and the field counts as unchanged. Different: the value changed. No record (the
tool has never written it: first run, or the resource was re-created elsewhere): the value is unverified,
and it is written once so that the tool recognises it from then on, unless the entry keeps it as it is
(a secret's `unverified: keep`), which the plan notes every time. Each kind words these verdicts for its
readers (kinds/base.py's `WriteOnlyWords`); the comparison is the same for every kind. After apply, the
pipeline records the fingerprint of each change that writes a write-only value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.kinds.base import DiffContext, Kind
    from reconciler.states import Entry, LiveResource


@dataclass(frozen=True)
class Verdict:
    """The reason a change gives for its write-only fields (empty: they match), or the note of an entry
    that keeps an unverified value."""

    reason: str = ""
    note: str = ""


MATCHED = Verdict()


def compare(kind: Kind, entry: Entry, live: LiveResource, wanted: dict[str, Any], current: dict[str, Any],
            ctx: DiffContext) -> Verdict:
    """Compare the write-only fields `wanted` sets that the live view `current` shows as null. Those that
    match the record (or that the entry keeps unverified) are filled into `current` with the wanted value,
    so the rest of the comparison sees them as unchanged. The diff asks only of entries that set one."""
    unread = sorted(f for f in kind.fingerprinted if wanted.get(f) is not None and current.get(f) is None)
    if not unread:
        return MATCHED
    recorded = ctx.recorded(kind.name, live.key, live.id)
    words, fields = kind.write_only_words, ", ".join(unread)
    if recorded is not None and recorded != ctx.fingerprint(kind.name, live.key, kind.material(entry.managed())):
        return Verdict(reason=words.changed.format(fields=fields))
    if recorded is None and not kind.keeps_unverified(entry):
        return Verdict(reason=words.unverified.format(fields=fields))
    current.update({f: wanted[f] for f in unread})
    return MATCHED if recorded is not None else Verdict(note=words.kept.format(name=kind.name, key=live.key))
