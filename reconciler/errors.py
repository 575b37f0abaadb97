"""The one exception tree of the tool. Everything the tool raises on purpose is a ReconcilerError.

    ReconcilerError                 a problem a user can act on (the CLI exits 1)
    ├── ConfigError                 the YAML is invalid: one or more ConfigIssue (file, line, what, how to fix)
    ├── PlanError                   a plan cannot be made or is refused
    │   ├── UnsafePlanError         too many deletes/updates, or prevent_destroy hit; --force overrides thresholds
    │   └── StalePlanError          a saved plan no longer matches the config or the live account
    ├── ApplyError                  an apply stopped part way; carries what was applied and what was not
    ├── PartialFailure              (inside apply) a kind's batch failed for some changes
    └── ApiError                    the Telnyx API refused a request (status, code, detail, pointer)
        ├── AuthenticationError     401: the API key is missing or wrong
        ├── PermissionDeniedError   403
        ├── NotFoundError           404
        ├── UnprocessableError      422 (and 400): the request was understood but refused
        ├── RateLimitedError        429 after every retry
        ├── ServerError             5xx after every retry
        ├── TransportError          no answer at all: connection refused, timeout, TLS
        └── UnreadableAnswerError   an answer that is not what the API documents (a redirect, HTML, a wrong
                                    shape, a limit of size or count passed): never read as "nothing there"

Anything else that escapes is a bug: the CLI reports it as an internal error (exit 3).
Lower-level exceptions (httpx, ruamel, pydantic) are translated where they are caught: client.py,
yamlio.py and config.py. Nothing above them sees those types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.plan import Change


class ReconcilerError(Exception):
    """A failure a user can act on. `hint` says what to do about it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


@dataclass(frozen=True)
class ConfigIssue:
    """One thing wrong with the config, with the place it was found."""

    file: str
    line: int | None
    column: int | None
    message: str
    hint: str = ""

    def where(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.column or 1}"

    def __str__(self) -> str:
        text = f"{self.where()}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class ConfigError(ReconcilerError):
    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        count = len(issues)
        head = "the config is invalid" if count == 1 else f"the config is invalid ({count} problems)"
        body = "\n".join(f"  {issue}" for issue in issues)
        super().__init__(f"{head}:\n{body}", "Fix the config and run `telnyx-reconciler validate` again.")

    @classmethod
    def single(cls, file: str, line: int | None, column: int | None, message: str, hint: str = "") -> ConfigError:
        return cls([ConfigIssue(file, line, column, message, hint)])


class PlanError(ReconcilerError):
    pass


class UnsafePlanError(PlanError):
    pass


class StalePlanError(PlanError):
    pass


class PartialFailure(ReconcilerError):
    """Raised by a kind inside an apply: these changes failed (each with its reason); the others it tried did not."""

    def __init__(self, cause: ReconcilerError, failures: list[tuple[Change, str]]) -> None:
        self.cause = cause
        self.failures = failures
        super().__init__(cause.message, cause.hint)


class ApplyError(ReconcilerError):
    """An apply that stopped: `applied` were done, `failed` failed (with reasons), `pending` were not tried."""

    def __init__(
        self, cause: ReconcilerError, applied: list[Change], failed: list[tuple[Change, str]], pending: list[Change]
    ) -> None:
        self.cause = cause
        self.applied = applied
        self.failed = failed
        self.pending = pending
        if len(failed) == 1:
            message = f"apply stopped at {failed[0][0].address}: {cause.message}"
        elif failed:
            message = f"apply stopped: {len(failed)} changes failed"
        else:  # interrupted between two steps
            message = f"apply stopped: {cause.message}"
        super().__init__(
            message,
            f"{len(applied)} change(s) applied, {len(failed)} failed, {len(pending)} not tried. "
            "Run `plan` again: it shows exactly what is left, and `apply` converges from here.",
        )


@dataclass
class ApiProblem:
    """One entry of the API's `errors[]` envelope."""

    code: str = ""
    title: str = ""
    detail: str = ""
    pointer: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        text = self.detail or self.title or "no detail given"
        if self.pointer:
            text = f"{text} (field {self.pointer})"
        return f"{text} [code {self.code}]" if self.code else text


class ApiError(ReconcilerError):
    status: int = 0
    default_hint = ""

    def __init__(self, status: int, what: str, problems: list[ApiProblem], hint: str = "") -> None:
        self.status = status
        self.what = what
        self.problems = problems
        details = "; ".join(p.describe() for p in problems) or "no error detail in the response"
        super().__init__(f"{what} failed with HTTP {status}: {details}", hint or self.default_hint)

    @property
    def codes(self) -> set[str]:
        return {p.code for p in self.problems}


class AuthenticationError(ApiError):
    default_hint = "Check TELNYX_API_KEY: it must be a valid API v2 key for this account (Portal > Auth > API Keys)."


class PermissionDeniedError(ApiError):
    default_hint = "The API key is valid but not allowed to do this; use a key of a user with access to it."


class NotFoundError(ApiError):
    default_hint = "The resource is gone from the account; run `plan` again to see the current state."


class UnprocessableError(ApiError):
    default_hint = "The API refused the values sent; correct them in the config (the field is named above)."


class RateLimitedError(ApiError):
    default_hint = "The account's rate limit was still exceeded after retries; lower --concurrency or try later."


class ServerError(ApiError):
    default_hint = "The Telnyx API failed after retries; nothing else was changed. Run `plan` again later."


class TransportError(ApiError):
    default_hint = "Check the network and TELNYX_BASE_URL; the request may or may not have reached the API."


class UnreadableAnswerError(ApiError):
    default_hint = ("Nothing was planned or changed from this answer. Check that TELNYX_BASE_URL is the Telnyx API "
                    "(no proxy or captive portal in between) and try again.")
