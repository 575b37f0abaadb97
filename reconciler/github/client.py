"""GitHubClient: the few GitHub REST calls the plan comment needs, over httpx. The only httpx import of
`reconciler.github`; every failure becomes a ReconcilerError, every answer is shape-checked."""

from __future__ import annotations

from typing import Any

import httpx

from reconciler.errors import ReconcilerError

MAX_PAGES = 30  # 3,000 comments on one pull request: far more than any review holds
PER_PAGE = 100
MAX_BODY = 65_536  # GitHub refuses a longer comment


class GitHubError(ReconcilerError):
    pass


class GitHubClient:
    def __init__(self, api_url: str, repository: str, token: str, *, transport: httpx.BaseTransport | None = None) -> None:
        if not token:
            raise GitHubError("GITHUB_TOKEN is not set", "Pass `github-token` to the action (the default is the job's token).")
        self.repository = repository
        self._http = httpx.Client(
            base_url=api_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": "2022-11-28"},
            timeout=30.0,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def comments(self, number: int) -> list[dict[str, Any]]:
        """Every comment of issue or pull request `number`, oldest first."""
        found: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            batch = self._list(f"/repos/{self.repository}/issues/{number}/comments", {"per_page": PER_PAGE, "page": page})
            found += [c for c in batch if isinstance(c.get("id"), int) and isinstance(c.get("body"), str)]
            if len(batch) < PER_PAGE:
                return found
        raise GitHubError(f"pull request #{number} has more than {MAX_PAGES * PER_PAGE:,} comments", "Comment was not posted.")

    def create_comment(self, number: int, body: str) -> int:
        answer = self._request("POST", f"/repos/{self.repository}/issues/{number}/comments", {"body": _bounded(body)})
        return _comment_id(answer)

    def edit_comment(self, comment_id: int, body: str) -> int:
        answer = self._request("PATCH", f"/repos/{self.repository}/issues/comments/{comment_id}", {"body": _bounded(body)})
        return _comment_id(answer)

    def pulls_of_commit(self, sha: str) -> list[dict[str, Any]]:
        """The pull requests a commit belongs to (a merge commit: the pull request it merged)."""
        pulls = self._list(f"/repos/{self.repository}/commits/{sha}/pulls", {"per_page": PER_PAGE})
        return [p for p in pulls if isinstance(p.get("number"), int)]

    def _list(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        answer = self._request("GET", path, None, params)
        if not isinstance(answer, list):
            raise GitHubError(f"GitHub answered GET {path} with something other than a list", "Check GITHUB_API_URL.")
        return [item for item in answer if isinstance(item, dict)]

    def _request(self, method: str, path: str, body: dict[str, Any] | None, params: dict[str, Any] | None = None) -> Any:
        try:
            response = self._http.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise GitHubError(f"cannot reach the GitHub API at {self._http.base_url}: {exc}", "Check GITHUB_API_URL.") from None
        if response.status_code >= 400:
            raise GitHubError(
                f"GitHub answered {method} {path} with HTTP {response.status_code}: {_message(response)}",
                "The job needs `permissions: pull-requests: write` (and `contents: read`) for the plan comment.",
            )
        try:
            return response.json()
        except ValueError:
            raise GitHubError(f"GitHub answered {method} {path} with something that is not JSON") from None


def _bounded(body: str) -> str:
    if len(body) > MAX_BODY:
        raise GitHubError(f"a comment of {len(body):,} characters is over GitHub's limit of {MAX_BODY:,}")
    return body


def _comment_id(answer: Any) -> int:
    if not isinstance(answer, dict) or not isinstance(answer.get("id"), int):
        raise GitHubError("GitHub's answer to a comment did not hold its id")
    return int(answer["id"])


def _message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return "no detail"
    return str(payload.get("message", "no detail"))[:300] if isinstance(payload, dict) else "no detail"
