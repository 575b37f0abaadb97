"""The run's context in GitHub Actions, from its environment: the repository, the API, the event (and the
pull request it concerns), and the files a step writes its outputs and job summary to."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError

MAX_EVENT_BYTES = 10_000_000  # GitHub's event payloads are far smaller; a bigger file is not one
DEFAULT_AUTHOR = "github-actions[bot]"


@dataclass(frozen=True)
class ActionsContext:
    api_url: str
    repository: str
    token: str
    event_name: str
    sha: str
    event: dict[str, Any]
    output_path: Path | None
    summary_path: Path | None
    run_url: str
    comment_author: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ActionsContext:
        env = os.environ if env is None else env
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        repository, run = env.get("GITHUB_REPOSITORY", ""), env.get("GITHUB_RUN_ID", "")
        return cls(
            api_url=env.get("GITHUB_API_URL", "https://api.github.com"),
            repository=repository,
            token=env.get("GITHUB_TOKEN", ""),
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            sha=env.get("GITHUB_SHA", ""),
            event=_read_event(env.get("GITHUB_EVENT_PATH", "")),
            output_path=Path(env["GITHUB_OUTPUT"]) if env.get("GITHUB_OUTPUT") else None,
            summary_path=Path(env["GITHUB_STEP_SUMMARY"]) if env.get("GITHUB_STEP_SUMMARY") else None,
            run_url=f"{server}/{repository}/actions/runs/{run}" if repository and run else "",
            comment_author=env.get("TELNYX_RECONCILER_COMMENT_AUTHOR", DEFAULT_AUTHOR),
        )

    @property
    def pull_request(self) -> int | None:
        """The pull request this run is for, when the event is one."""
        number = (self.event.get("pull_request") or {}).get("number") if isinstance(self.event.get("pull_request"), dict) else None
        return number if isinstance(number, int) and number > 0 else None

    def require_repository(self) -> str:
        if "/" not in self.repository:
            raise ReconcilerError("GITHUB_REPOSITORY is not set (OWNER/NAME)", "Run this inside GitHub Actions, or set it.")
        return self.repository

    def write_outputs(self, outputs: Mapping[str, str]) -> None:
        """Append step outputs (one `name=value` line each; values are single lines)."""
        if self.output_path is None:
            return
        with self.output_path.open("a", encoding="utf-8") as handle:
            for name, value in outputs.items():
                handle.write(f"{name}={value.replace(chr(10), ' ')}\n")

    def write_summary(self, markdown: str) -> None:
        if self.summary_path is None:
            return
        with self.summary_path.open("a", encoding="utf-8") as handle:
            handle.write(markdown if markdown.endswith("\n") else markdown + "\n")


def _read_event(path: str) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_EVENT_BYTES + 1)
        event = json.loads(raw) if len(raw) <= MAX_EVENT_BYTES else None
    except (OSError, ValueError):
        event = None
    if not isinstance(event, dict):
        raise ReconcilerError(f"GITHUB_EVENT_PATH {path} is not a readable GitHub event (a JSON object)")
    return event
