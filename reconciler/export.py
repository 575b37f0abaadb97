"""Export: the live account as a config document that, planned against the same account, shows no change.

Resources the tool cannot own (for example addresses without a customer_reference, which is where an
address's name lives) are counted and left out; the header says so. A kind that refers to others (a phone
number's billing group and emergency address) exports the references by name, as a config writes them;
one with `export_defaults` writes the values most entries share once, under `defaults:`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.kinds import KINDS
from reconciler.states import LiveState


@dataclass(frozen=True)
class Export:
    document: dict[str, Any]
    header: str


class _Names:
    """Names of the exported live resources by id, for kinds that write references by name."""

    def __init__(self, live: LiveState) -> None:
        self._keys = {name: {r.id: r.key for r in items} for name, items in live.resources.items()}

    def key_of_id(self, kind: str, live_id: str) -> str | None:
        return self._keys.get(kind, {}).get(live_id)


def export(live: LiveState, kinds: Iterable[str] | None = None) -> Export:
    """`kinds` (default: all read) are written; the others read serve only to name references."""
    document: dict[str, Any] = {}
    unreadable: list[str] = []
    names = _Names(live)
    written = set(live.resources if kinds is None else kinds)
    for name, resources in live.resources.items():
        if name not in written:
            continue
        kind = KINDS[name]
        exported = [(r, _without(kind.sensitive, kind.export(r, names))) for r in resources]
        unreadable += [f"{name}[{r.key}]" for r, e in exported if e is None]
        entries = sorted((e for _, e in exported if e is not None), key=lambda e: str(e[kind.key_field]))
        if entries or not unreadable:
            document[name] = _shared_defaults(_dedupe(entries, kind.key_field), kind.export_defaults)
    counts = ", ".join(f"{len(v['entries'] if isinstance(v, dict) else v)} {k}" for k, v in document.items())
    header = (
        "Exported from the live Telnyx account by `telnyx-reconciler export`.\n"
        f"Holds: {counts or 'nothing'}.\n"
        "Addresses without a customer_reference are not managed and not exported.\n"
        "Secret values (phone number PINs, integration secrets) are never readable or written here."
    )
    if unreadable:
        header += ("\nNot exported, because the API never returns their values (add them by hand with "
                   "${env:NAME} references): " + ", ".join(sorted(unreadable)))
    return Export(document, header)


def _without(sensitive: frozenset[str], entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """An exported entry never holds a secret, whatever a kind's export returned."""
    return None if entry is None else {k: v for k, v in entry.items() if k not in sensitive}


def _shared_defaults(entries: list[dict[str, Any]], defaults: dict[str, Any]) -> list[dict[str, Any]] | dict[str, Any]:
    """A kind's `defaults:` block of the values most entries share (phone numbers: switches left off), and
    entries that list only where they differ. A default is used only when every entry sets that field, so
    no entry takes on a value it did not have."""
    shared = {k: v for k, v in defaults.items() if entries and all(k in e for e in entries)}
    if not shared:
        return entries
    trimmed = [{k: v for k, v in e.items() if k not in shared or v != shared[k]} for e in entries]
    return {"defaults": shared, "entries": trimmed}


def _dedupe(entries: list[dict[str, Any]], key_field: str) -> list[dict[str, Any]]:
    """One entry per key: two live resources with one key cannot both be described in a config."""
    seen: dict[str, dict[str, Any]] = {}
    for entry in entries:
        seen.setdefault(str(entry[key_field]), entry)
    return list(seen.values())
