"""A fake GitHub REST API on loopback, for the action's tests: pull-request comments (list, create, edit)
and the pull requests of a commit. It records every request, so tests can count creates, edits and lookups."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from loopback import serving

BOT = "github-actions[bot]"
REPO = "acme/telnyx-config"
TOKEN = "ghs_fake-token-never-printed"


@dataclass
class FakeGitHub:
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # pull request -> its comments
    commit_pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sha -> pull requests
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1000
    url: str = ""

    def calls(self, method: str, pattern: str) -> int:
        return sum(1 for m, p in self.requests if m == method and re.fullmatch(pattern, p.split("?")[0]))

    def bodies(self, pull: int) -> list[str]:
        return [c["body"] for c in self.comments.get(pull, [])]

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        self.requests.append((method, path))
        route = path.split("?")[0]
        if m := re.fullmatch(rf"/repos/{REPO}/issues/(\d+)/comments", route):
            listed = self.comments.setdefault(int(m.group(1)), [])
            if method == "GET":
                page = int(dict(p.split("=") for p in path.split("?", 1)[1].split("&")).get("page", "1")) if "?" in path else 1
                return 200, listed[(page - 1) * 100 : page * 100]
            self.next_id += 1
            listed.append({"id": self.next_id, "body": body["body"], "user": {"login": BOT}})
            return 201, listed[-1]
        if (m := re.fullmatch(rf"/repos/{REPO}/issues/comments/(\d+)", route)) and method == "PATCH":
            for item in (c for cs in self.comments.values() for c in cs if c["id"] == int(m.group(1))):
                item["body"] = body["body"]
                return 200, item
            return 404, {"message": "Not Found"}
        if m := re.fullmatch(rf"/repos/{REPO}/commits/([0-9a-f]+)/pulls", route):
            return 200, self.commit_pulls.get(m.group(1), [])
        return 404, {"message": "Not Found"}


@contextmanager
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._answer(401, {"message": "Bad credentials"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            self._answer(*fake.handle(self.command, self.path, body))

        def _answer(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _serve

        def log_message(self, *_: Any) -> None:
            pass

    with serving(Handler) as url:
        fake.url = url
        yield fake
