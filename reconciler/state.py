"""What the tool remembers between runs because the API will not tell it: keyed fingerprints of
write-only values (integration secrets).

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
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
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

    def of(self, kind: str, key: str, material: dict[str, Any]) -> str:
        message = json.dumps([kind, key, material], sort_keys=True, separators=(",", ":")).encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def recorded(self, kind: str, key: str, live_id: str) -> str | None:
        record = self.records.get(kind, {}).get(key)
        if record is None or record.get("id") != live_id:
            return None
        return record.get("fingerprint")

    def record(self, kind: str, key: str, live_id: str, fingerprint: str) -> None:
        self.records.setdefault(kind, {})[key] = {"id": live_id, "fingerprint": fingerprint}
        self.dirty = True

    def forget(self, kind: str, key: str) -> None:
        if self.records.get(kind, {}).pop(key, None) is not None:
            self.dirty = True

    def save(self) -> None:
        """Write the file if anything changed (atomically: a crash never leaves half a file)."""
        if self.path is None or not self.dirty:
            return
        document = {"format": STATE_FORMAT, "format_version": STATE_VERSION, "fingerprints": self.records}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".tmp")
        partial.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        partial.replace(self.path)
        self.dirty = False


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
    return Fingerprints(path, key, records)


_HINT = ("Restore it from git or the CI cache, or move it away: every integration secret then counts as "
         "unverified (see `reconciler.state_file` in the README).")
