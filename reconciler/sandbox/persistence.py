"""The state file on disk: a JSON snapshot plus, for large accounts, an append-only journal.

A small account (at most `journal_threshold` records) is written the simple way: the whole
snapshot, atomically (temp file, fsync, `os.replace`), after every change. Rewriting a 100,000
number account takes one to two and a half seconds, so above the threshold each change is appended as
one JSON line to `<state file>.journal` (flushed before the response is sent, so a change that was
acknowledged survives the process ending in any way short of losing the machine). The journal is
folded back into the snapshot ("compacted") when it holds more entries than
`max(journal_threshold, records // 4)`, and when the sandbox is closed.

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
from typing import Any, Iterable

JournalEntry = dict[str, Any]


class StateFile:
    def __init__(self, path: Path, journal_threshold: int) -> None:
        self.path = path
        self.journal_path = path.with_name(path.name + ".journal")
        self.journal_threshold = journal_threshold
        self.generation = 0
        self.journal_entries = 0

    def read(self) -> tuple[dict[str, Any], list[JournalEntry]] | None:
        """(snapshot, journal entries to replay), or None when there is no state file yet."""
        if not self.path.exists():
            return None
        data = json.loads(self.path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        self.generation = int(data.get("generation", 0))
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
        self.journal_path.unlink(missing_ok=True)
        self.journal_entries = 0

    def append(self, entries: Iterable[JournalEntry]) -> None:
        lines = [json.dumps(entry, separators=(",", ":")) for entry in entries]
        if not lines:
            return
        fresh = self.journal_entries == 0
        if fresh:  # a journal left from an older generation is overwritten, not extended
            lines.insert(0, json.dumps({"generation": self.generation}))
        with open(self.journal_path, "w" if fresh else "a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        self.journal_entries += len(lines)

    def should_compact(self, records: int) -> bool:
        return self.journal_entries > max(self.journal_threshold, records // 4)
