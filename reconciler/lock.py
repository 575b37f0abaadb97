"""The apply lock: one apply at a time per config and state file, on this machine.

An apply holds an exclusive `flock` on a lock file from before it reads the account until it ends, so two
applies of the same config never plan against the same account state and both create the same resources.
The lock file, `telnyx-reconciler.lock`, lies beside the state file, or, for a config without one, beside
the config. Its content names the holder (pid, host, start time) for the message that refuses a second
apply.

A stale lock cannot block: the kernel drops a flock when the process holding it ends, however it ends
(SIGKILL included), so the file left behind locks nothing. The file is never deleted, since deleting it
would let a waiting process lock a file that a third one no longer sees. flock is local to a machine:
runners on different machines need the CI's own serialisation (a concurrency group).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reconciler.errors import ReconcilerError

LOCK_FILE_NAME = "telnyx-reconciler.lock"
POLL_SECONDS = 0.2  # between attempts while waiting for --lock-timeout
HOLDER_READS = 10  # a holder writes its name just after locking; read it a few times before giving up
HOLDER_BYTES = 4096


def lock_path(state_path: Path | None, config_dir: Path) -> Path:
    """Beside the state file when the config has one, else in the config's directory. One name, so that a
    single line in .gitignore covers it."""
    return (state_path.parent if state_path is not None else config_dir) / LOCK_FILE_NAME


@contextmanager
def held(path: Path, timeout: float = 0.0) -> Iterator[None]:
    """Hold the lock at `path`; wait up to `timeout` seconds for another holder, then refuse naming it."""
    fd = _open(path)
    try:
        _acquire(fd, path, timeout)
        _write_holder(fd)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ReconcilerError(f"{path}: the apply lock cannot be created ({exc})",
                              "Make the directory writable, or move the state file (`reconciler.state_file`).") from None


def _acquire(fd: int, path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise _refusal(path, timeout) from None
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def _write_holder(fd: int) -> None:
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder).encode(), 0)


def holder(path: Path) -> str:
    """Who holds the lock, as its file says: "pid 123 on host ci-7 since …", or a plain description."""
    for _ in range(HOLDER_READS):
        try:
            with path.open("rb") as handle:
                found = json.loads(handle.read(HOLDER_BYTES) or b"null")
        except (OSError, ValueError):
            found = None
        if isinstance(found, dict) and {"pid", "host", "started"} <= found.keys():
            return f"pid {found['pid']} on host {found['host']} since {found['started']}"
        time.sleep(0.02)
    return "another process (it has not written its name)"


def _refusal(path: Path, timeout: float) -> ReconcilerError:
    waited = f" after waiting {timeout:g}s" if timeout else ""
    return ReconcilerError(
        f"another apply holds the lock {path}{waited}: {holder(path)}",
        "Nothing was applied. Wait for it to finish, or pass --lock-timeout SECONDS to wait for it. "
        "A lock is released when its process ends, even when it is killed.",
    )
