"""What the receiver remembers across restarts: the ids of events it has seen (a duplicate delivery is a
no-op), the events cursor (the creation time of the newest event seen: the next catch-up reads from
there), and the manual orders already announced (one notification each).

It lives in a small JSON file of its own, beside the config's state file, written atomically (a temporary
file, flushed to disk, then renamed over the old one), so a crash leaves the old file or the new one, never
half of one. Each list is bounded; the oldest entries go first.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FORMAT = "telnyx-reconciler/serve"
FILE_NAME = "telnyx-reconciler.serve.json"
MAX_FILE_BYTES = 5 * 1024 * 1024
KEPT_EVENTS = 5_000
KEPT_NOTIFIED = 5_000
MAX_ID = 100  # characters; an event or order id is a UUID


class MemoryFileError(ValueError):
    """The file exists but cannot be read as this receiver's memory."""


class Memory:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._notified: OrderedDict[str, None] = OrderedDict()
        self.cursor: str | None = None
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        if self.path.stat().st_size > MAX_FILE_BYTES:
            raise MemoryFileError(f"{self.path}: larger than {MAX_FILE_BYTES:,} bytes; not this receiver's file")
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise MemoryFileError(f"{self.path}: not JSON ({exc})") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise MemoryFileError(f"{self.path}: not a telnyx-reconciler serve file (format {FORMAT!r})")
        self.cursor = _text_or_none(document.get("cursor"))
        self._seen = OrderedDict.fromkeys(_ids(document.get("events_seen"), KEPT_EVENTS))
        self._notified = OrderedDict.fromkeys(_ids(document.get("manual_notified"), KEPT_NOTIFIED))

    def first_sight(self, event_id: str, created_at: str | None) -> bool:
        """Record an event; False when it was seen before. The cursor moves to the newest creation time."""
        return bool(self.remember([(event_id, created_at)]))

    def remember(self, events: Iterable[tuple[str, str | None]]) -> int:
        """Record events (id, creation time) with one write of the file; how many were new."""
        with self._lock:
            new = 0
            for event_id, created_at in events:
                if event_id in self._seen:
                    continue
                new += 1
                _add(self._seen, event_id, KEPT_EVENTS)
                if created_at and (self.cursor is None or created_at > self.cursor):
                    self.cursor = created_at
            if new:
                self._save()
            return new

    def seen(self, event_id: str) -> bool:
        with self._lock:
            return event_id in self._seen

    def first_notice(self, order_id: str) -> bool:
        """Whether a manual order is announced for the first time (and remember that it now is)."""
        with self._lock:
            if order_id in self._notified:
                return False
            _add(self._notified, order_id, KEPT_NOTIFIED)
            self._save()
            return True

    def _save(self) -> None:
        document: dict[str, Any] = {"format": FORMAT, "cursor": self.cursor, "events_seen": list(self._seen),
                                    "manual_notified": list(self._notified)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        with open(partial, "w", encoding="utf-8") as handle:
            json.dump(document, handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, self.path)


def _add(kept: OrderedDict[str, None], ident: str, limit: int) -> None:
    kept[ident] = None
    while len(kept) > limit:
        kept.popitem(last=False)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID else None


def _ids(value: Any, limit: int) -> list[str]:
    items = value if isinstance(value, list) else []
    return [v for v in items[-limit:] if isinstance(v, str) and 0 < len(v) <= MAX_ID]
