"""The state file on disk: a JSON snapshot plus an append-only journal of the changes since.

Each change is appended as one JSON line to `<state file>.journal`, written (and flushed to the
operating system) before the response is sent, so a change that was acknowledged survives the process
ending in any way short of losing the machine. Rewriting the whole account after every change cost a
2,000-number account most of its write rate, and a 100,000-number one one to two and a half seconds
per change; opening and closing the journal for each change was a third of what remained, so it stays
open while it has entries. The journal is folded
back into the snapshot ("compacted": temp file, fsync, `os.replace`) when it would hold more entries
than `max(journal_threshold, records // 4)`, and when the sandbox is closed. Accounts of at most
`journal_threshold` records get an indented snapshot a person can read; larger ones a compact one.

Journal lines:

    {"generation": 7}                                          first line: the snapshot it extends
    {"put": "phone_numbers", "record": {...}, "counter": 12}   record stored (created or replaced)
    {"del": "phone_numbers", "id": "1293...", "counter": 12}   record removed
    {"in_use": "addresses", "id": "...", "users": [...], "counter": 12}

A journal whose generation is not the snapshot's is left over from before a compaction whose
snapshot was written; it is ignored. A torn last line (the process died mid-write) is ignored.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterable

from .encoding import dumps

JournalEntry = dict[str, Any]


class StateFile:
    def __init__(self, path: Path, journal_threshold: int) -> None:
        self.path = path
        self.journal_path = path.with_name(path.name + ".journal")
        self.journal_threshold = journal_threshold
        self.generation = 0
        self.journal_entries = 0
        self.has_snapshot = False  # a journal extends a snapshot: the first change writes one
        self._journal: IO[bytes] | None = None  # open only while the journal has entries

    def read(self) -> tuple[dict[str, Any], list[JournalEntry]] | None:
        """(snapshot, journal entries to replay), or None when there is no state file yet."""
        if not self.path.exists():
            return None
        data = json.loads(self.path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        self.generation = int(data.get("generation", 0))
        self.has_snapshot = True
        entries = self._read_journal()
        self.journal_entries = len(entries)
        return data, entries

    def _read_journal(self) -> list[JournalEntry]:
        if not self.journal_path.exists():
            return []
        text = self.journal_path.read_text(encoding="utf-8")
        complete, _, tail = text.rpartition("\n")
        entries = [json.loads(line) for line in complete.splitlines() if line]
        if tail:
            try:
                entries.append(json.loads(tail))
                complete += "\n" + tail
            except ValueError:
                pass  # torn final line: that change was never acknowledged
            # Leave the file ending in a newline, so the next append starts a line of its own.
            with open(self.journal_path, "w", encoding="utf-8") as handle:
                handle.write(complete + "\n" if complete else "")
        if not entries or entries[0].get("generation") != self.generation:
            return []
        return entries[1:]

    def write_snapshot(self, data: dict[str, Any], *, pretty: bool) -> None:
        """Replace the snapshot atomically and drop the journal it absorbs."""
        self.generation += 1
        data = {**data, "generation": self.generation}
        # The pure-Python encoder behind `indent` is several times slower: large states go compact.
        text = json.dumps(data, indent=1, sort_keys=True) if pretty else json.dumps(data, separators=(",", ":"))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._close_journal()
        self.journal_path.unlink(missing_ok=True)
        self.journal_entries = 0
        self.has_snapshot = True

    def append(self, entries: Iterable[JournalEntry]) -> None:
        lines = [dumps(entry) for entry in entries]
        if not lines:
            return
        if self.journal_entries == 0:  # a journal left from an older generation is overwritten, not extended
            self._close_journal()
            self._journal = open(self.journal_path, "wb")
            lines.insert(0, dumps({"generation": self.generation}))
        elif self._journal is None:
            self._journal = open(self.journal_path, "ab")
        self._journal.write(b"\n".join(lines) + b"\n")
        self._journal.flush()
        self.journal_entries += len(lines)

    def _close_journal(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def should_compact(self, records: int, adding: int = 0) -> bool:
        """Whether `adding` more entries would make the journal too long to be worth replaying."""
        if not self.has_snapshot:
            return True
        return self.journal_entries + adding > max(self.journal_threshold, records // 4)
