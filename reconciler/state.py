"""What the tool remembers between runs because the API will not tell it: keyed fingerprints of
write-only values (integration secrets), and the leftovers of its own interrupted replaces.

The API never returns a secret's token or password, so whether the value in the config is the one in the
account can only be known from what the tool itself last wrote. After creating a secret, apply records
HMAC-SHA256(key, kind + identifier + type + values) together with the live id it was written to. A later
plan computes the same fingerprint from the config: equal means unchanged; different means the value
changed; no record for that live id (first run, or the secret was created or re-created outside the
tool) means the value is unverified.

The key is TELNYX_RECONCILER_STATE_KEY when set, else one derived from the API key. Without the key the
file says nothing about the values, not even whether two secrets share one, so it may live in git or a
CI cache. A new key (a rotated API key) makes every record unverified, which is safe: see
kinds/integration_secrets.py for what a plan does then.

A replace that creates the new resource first (an address) records the old one's live id as a leftover of
its kind and key once the create is confirmed, and removes the record once the old one's delete is. A plan
deletes a recorded leftover still in the account even where the kind is not pruned (diff.py), so an apply
stopped between the create and the delete converges with one more apply. Leftovers are ids and keys, no
values.

Apply saves the file after each confirmed write, so a crash (even SIGKILL) loses at most the record of the
request in flight. Each save is atomic (a temporary file, fsync, rename, fsync of the directory) and merges:
it re-reads the file and lays this run's own records and removals over it, so records written meanwhile by
another process are kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError

STATE_FORMAT = "telnyx-reconciler/state"
STATE_VERSION = 1
KEY_ENV = "TELNYX_RECONCILER_STATE_KEY"
DERIVATION_LABEL = b"telnyx-reconciler fingerprint key v1"


@dataclass
class Fingerprints:
    """Recorded fingerprints per kind and key, each with the live id it was taken for."""

    path: Path | None
    key: bytes = field(repr=False)
    records: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    dirty: bool = False
    changes: dict[tuple[str, str], dict[str, str] | None] = field(default_factory=dict)  # this run's, for the merge
    leftovers: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> live id -> key
    leftover_changes: dict[tuple[str, str], str | None] = field(default_factory=dict)  # this run's, for the merge

    def of(self, kind: str, key: str, material: dict[str, Any]) -> str:
        message = json.dumps([kind, key, material], sort_keys=True, separators=(",", ":")).encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def recorded(self, kind: str, key: str, live_id: str) -> str | None:
        record = self.records.get(kind, {}).get(key)
        if record is None or record.get("id") != live_id:
            return None
        return record.get("fingerprint")

    def record(self, kind: str, key: str, live_id: str, fingerprint: str) -> None:
        self._set(kind, key, {"id": live_id, "fingerprint": fingerprint})

    def forget(self, kind: str, key: str) -> None:
        if key in self.records.get(kind, {}):
            self._set(kind, key, None)

    def leftover_ids(self, kind: str) -> frozenset[str]:
        """Live ids of `kind` recorded as left over from the tool's own replaces."""
        return frozenset(self.leftovers.get(kind, {}))

    def record_leftover(self, kind: str, live_id: str, key: str) -> None:
        self._set_leftover(kind, live_id, key)

    def forget_leftover(self, kind: str, live_id: str) -> None:
        if live_id in self.leftovers.get(kind, {}):
            self._set_leftover(kind, live_id, None)

    def _set_leftover(self, kind: str, live_id: str, key: str | None) -> None:
        _put(self.leftovers, kind, live_id, key)
        self.leftover_changes[(kind, live_id)] = key
        self.dirty = True

    def _set(self, kind: str, key: str, record: dict[str, str] | None) -> None:
        _put(self.records, kind, key, record)
        self.changes[(kind, key)] = record
        self.dirty = True

    def save(self) -> None:
        """Write this run's records and removals over what the file holds now, if there are any."""
        if self.path is None or not self.dirty:
            return
        merged, leftovers = _on_disk(self.path, self)
        for (kind, key), record in self.changes.items():
            _put(merged, kind, key, record)
        for (kind, live_id), left in self.leftover_changes.items():
            _put(leftovers, kind, live_id, left)
        document: dict[str, Any] = {"format": STATE_FORMAT, "format_version": STATE_VERSION, "fingerprints": merged}
        if any(leftovers.values()):
            document["leftovers"] = leftovers
        try:
            write_atomically(self.path, json.dumps(document, indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            raise ReconcilerError(f"{self.path}: the state file cannot be written ({exc})", _HINT) from None
        self.records, self.changes, self.dirty = merged, {}, False
        self.leftovers, self.leftover_changes = leftovers, {}


def _put(records: dict[str, dict[str, Any]], kind: str, key: str, record: Any) -> None:
    if record is None:
        records.get(kind, {}).pop(key, None)
    else:
        records.setdefault(kind, {})[key] = record


def _on_disk(path: Path, fallback: Fingerprints) -> tuple[dict[str, dict[str, dict[str, str]]], dict[str, dict[str, str]]]:
    """The records and leftovers in the file now; this run's view when the file is gone or no longer
    readable (it is then written whole again, which loses nothing that could still be read)."""
    try:
        if path.exists():
            found = load_fingerprints(path, b"")
            return found.records, found.leftovers
    except ReconcilerError:
        pass
    return ({kind: dict(keys) for kind, keys in fallback.records.items()},
            {kind: dict(ids) for kind, ids in fallback.leftovers.items()})


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so that a crash at any moment leaves the old file or the new one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(partial)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; some platforms and filesystems cannot open a directory, which is fine."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def state_key(api_key: str, environ: dict[str, str] | None = None) -> bytes:
    env = os.environ if environ is None else environ
    explicit = env.get(KEY_ENV, "")
    if explicit:
        return explicit.encode()
    return hmac.new(api_key.encode(), DERIVATION_LABEL, hashlib.sha256).digest()


def load_fingerprints(path: Path | None, key: bytes) -> Fingerprints:
    """The recorded fingerprints at `path` (none yet when the file does not exist)."""
    if path is None or not path.exists():
        return Fingerprints(path, key)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ReconcilerError(f"{path}: the state file cannot be read ({exc})", _HINT) from None
    if not isinstance(document, dict) or document.get("format") != STATE_FORMAT:
        raise ReconcilerError(f"{path}: not a telnyx-reconciler state file", _HINT)
    if document.get("format_version") != STATE_VERSION:
        raise ReconcilerError(f"{path}: state file format {document.get('format_version')} is not supported", _HINT)
    records = document.get("fingerprints")
    if not isinstance(records, dict):
        raise ReconcilerError(f"{path}: the state file has no `fingerprints` mapping", _HINT)
    return Fingerprints(path, key, records, leftovers=_leftovers(path, document.get("leftovers", {})))


def _leftovers(path: Path, found: Any) -> dict[str, dict[str, str]]:
    """`leftovers` as read: kind -> live id -> key, all strings (a file written before they existed has none)."""
    if not isinstance(found, dict) or not all(
        isinstance(ids, dict) and all(isinstance(i, str) and isinstance(k, str) for i, k in ids.items())
        for ids in found.values()
    ):
        raise ReconcilerError(f"{path}: the state file's `leftovers` is not a mapping of kinds to ids and keys", _HINT)
    return {str(kind): dict(ids) for kind, ids in found.items()}


_HINT = ("Restore it from git or the CI cache, or move it away: every integration secret then counts as "
         "unverified, and a replace's leftover is only a note (see `reconciler.state_file` in the README).")
