"""A sandbox in its own process for the benchmarks: `telnyx-reconciler sandbox` on 127.0.0.1, a free port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "sandbox-key"
TOOL = [sys.executable, "-c", "import sys; from reconciler.cli import main; sys.argv[0] = 'telnyx-reconciler'; main()"]
START_TIMEOUT = 300.0  # generating and loading 100,000 numbers takes a few seconds; a stuck start is cut off
STOP_TIMEOUT = 30.0


class Served(NamedTuple):
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU the sandbox process has used so far (Linux `/proc`)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def sandbox_process(*options: str) -> Iterator[Served]:
    """Serve with these `sandbox` options; yields its base URL and pid; always stopped (Ctrl-C, then killed)."""
    command = [*TOOL, "sandbox", "--port", "0", *options]
    env = {**os.environ, "TELNYX_API_KEY": API_KEY}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    try:
        yield Served(_base_url(process), process.pid)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)


def _base_url(process: subprocess.Popen[str]) -> str:
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stderr.readline() if process.stderr else ""), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT)
    match = re.search(r"http://127\.0\.0\.1:\d+/v2", line[0] if line else "")
    if match is None:
        raise SystemExit(f"the sandbox did not start within {START_TIMEOUT:.0f} s: {line[0] if line else 'no output'}")
    return match.group(0)
