"""The config the receiver decides with: loaded at start (an invalid one stops the start), then reloaded
when one of its files changes or on SIGHUP. An invalid new config keeps the last good one, and the reason
is logged; a config without a `portout_policy` counts as invalid here."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from reconciler import pipeline
from reconciler.errors import ReconcilerError
from reconciler.states import DesiredState

log = logging.getLogger(__name__)
POLICY = "portout_policy"
YAML_SUFFIXES = (".yaml", ".yml")
MAX_FILES = 10_000  # watched files; beyond, the rest are not watched (and it is logged once)

Stamp = tuple[tuple[str, int, int], ...]


class LiveConfig:
    """The current DesiredState; `reload()` swaps it only for a valid one."""

    def __init__(self, paths: tuple[str, ...], on_loaded: Callable[[DesiredState], None] = lambda d: None) -> None:
        self.paths = paths
        self._on_loaded = on_loaded
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self._stamp = self._files()
        self.desired = self._load()
        self.loaded_at = _now()

    def _load(self) -> DesiredState:
        desired = pipeline.load_desired(self.paths)
        if POLICY not in desired.policies:
            raise ReconcilerError(f"the config in {', '.join(self.paths) or '.'} has no portout_policy",
                                  "Add a `portout_policy:` (see examples/config/portouts.yaml); `serve` answers "
                                  "port-outs with it.")
        self._on_loaded(desired)
        return desired

    def current(self) -> DesiredState:
        with self._lock:
            return self.desired

    def changed(self) -> bool:
        return self._files() != self._stamp

    def reload(self) -> bool:
        """Load the config again; False (the old one kept, the reason logged) when the new one is invalid."""
        stamp = self._files()
        try:
            desired = self._load()
        except ReconcilerError as exc:
            self._stamp = stamp  # the same broken files are not re-read until they change again
            self.last_error = exc.message
            log.warning("config reload refused, the previous config stays in use: %s", exc.message)
            return False
        with self._lock:
            self.desired, self._stamp, self.loaded_at, self.last_error = desired, stamp, _now(), None
        log.warning("config reloaded from %s", ", ".join(self.paths))
        return True

    def _files(self) -> Stamp:
        found: list[Path] = []
        for root in map(Path, self.paths):
            found.extend(sorted(p for p in root.rglob("*") if p.suffix in YAML_SUFFIXES) if root.is_dir() else [root])
        stamps = []
        for path in found[:MAX_FILES]:
            try:
                info = path.stat()
            except OSError:
                continue
            stamps.append((str(path), info.st_mtime_ns, info.st_size))
        return tuple(stamps)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
