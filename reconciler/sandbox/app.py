"""The sandbox application: one request in, one Telnyx-shaped response out.

Owns the order every request goes through: latency (slept outside any lock), authentication
(401 10009), the account rate limit (429 10011), routing against the spec (404 10005 unknown
path, 405 wrong method, 501 for spec operations no collection implements yet), injected faults,
request validation against the spec (422 10004 / 10015, 400 for malformed JSON, 404 10006 for a
malformed id), then, under the state lock, any background work that has come due on the sandbox
clock (finished jobs, in the order they finished) and the collection handler. Errors are rendered
in the envelope the operation's spec declares. Every request is recorded in `Sandbox.requests`.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import parse_qsl

import httpx

from .encoding import encode
from .errors import ApiError, ErrorItem, envelope, unexpected
from .limits import FaultInjector, PageSizePolicy, RateLimiter
from .resources import Call, Collection, Handler, SandboxSettings, build_collections
from .seed import apply_seed
from .server import serving
from .spec import SERVER_PREFIX, Operation, Spec, load_spec
from .store import JOURNAL_THRESHOLD, Record, State

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SandboxResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class RecordedRequest:
    """One handled request; `path` is as requested (with `/v2`), `operation_id` None off the spec."""

    method: str
    path: str
    query: list[tuple[str, str]]
    status: int
    operation_id: str | None = None


@dataclass
class _Outcome:
    status: int
    body: Any
    op: Operation | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Sandbox:
    """A stateful, local Telnyx API v2 for the collections in `resources.COLLECTIONS`.

    `job_seconds` and `job_seconds_per_number` time background jobs (see resources/background.py);
    `portout_answer_hours` (24 or 48) is when an unanswered port-out is authorized by itself;
    `journal_threshold` is the least number of journal entries kept before they are folded into the
    state file's snapshot, and the account size (records) up to which that snapshot is indented
    (see persistence.py).
    `page_size_cap` and `page_size_refused_above` set the page-size rule of the lists whose spec declares
    no maximum (limits.PageSizePolicy, assumed).
    `close()` (or leaving a `with Sandbox(...)` block) folds the journal into the snapshot.
    """

    def __init__(self, *, api_key: str = "sandbox-key", state_path: str | Path | None = None,
                 seed: dict[str, Any] | None = None, latency_ms: float = 0, rate_limit: float | None = None,
                 fail_rate: float = 0.0, random_seed: int = 0,
                 clock: Callable[[], datetime] | None = None, job_seconds: float = 1.0,
                 job_seconds_per_number: float = 0.0005, journal_threshold: int = JOURNAL_THRESHOLD,
                 portout_answer_hours: float = 48.0,
                 page_size_cap: int | None = None, page_size_refused_above: int | None = None) -> None:
        if job_seconds < 0 or job_seconds_per_number < 0:
            raise ValueError("job_seconds and job_seconds_per_number must not be negative")
        self._api_key = api_key
        self.spec: Spec = load_spec()
        self.collections: dict[str, Collection] = build_collections(
            SandboxSettings(job_seconds, job_seconds_per_number, portout_answer_hours))
        self._routes: dict[tuple[str, str], Handler] = {}
        for collection in self.collections.values():
            self._routes.update(collection.routes())
        self.state = State(collections=self.collections, path=state_path, random_seed=random_seed,
                           clock=clock, uses=self._uses, journal_threshold=journal_threshold,
                           unique={c.name: c.unique_fields for c in self.collections.values()})
        if seed and not self.state.restored:
            apply_seed(self.state, self.collections, seed, self.spec)
        self.latency_ms = latency_ms
        self._limiter = RateLimiter(rate_limit) if rate_limit else None
        self._faults = FaultInjector(fail_rate, random_seed)
        self._pages = PageSizePolicy(page_size_cap, page_size_refused_above)
        self.requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()

    def __repr__(self) -> str:
        # Never show the key.
        return f"Sandbox(collections={list(self.collections)}, state_path={self.state.path})"

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Write everything to the state file in its compact form; the sandbox stays usable."""
        self.state.close()

    def add(self, collection: str, fields: Mapping[str, Any]) -> Record:
        """Add a resource as a seed entry would: what happens in the account without an API call of its
        own (another carrier opens a port-out order)."""
        with self.state.lock:
            return self.collections[collection].create(self.state, fields)

    def advance(self) -> None:
        """Apply the background work due by now on the sandbox clock (requests do this themselves)."""
        with self.state.lock:
            due = [item for collection in self.collections.values() for item in collection.due(self.state)]
            for _, _, run in sorted(due, key=lambda item: (item[0], item[1])):
                run()

    def _uses(self, collection: str, record: Record) -> Any:
        owner = self.collections.get(collection)
        return owner.uses(record) if owner else ()

    # -- entry points --------------------------------------------------------------------
    def handle(self, method: str, path: str, query: Sequence[tuple[str, str]], headers: Mapping[str, str],
               body: bytes) -> SandboxResponse:
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000.0)
        method = method.upper()
        raw_path = path.split("?", 1)[0]
        try:
            outcome = self._dispatch(method, raw_path, list(query), headers, body)
        except Exception:  # a sandbox bug must still answer like a server, not kill the connection
            log.exception("sandbox handler failed for %s %s", method, raw_path)
            outcome = self._error(None, unexpected(500))
        # A handler answering 204 returns None: no body, so no content type either.
        payload = b"" if outcome.body is None else encode(outcome.body)
        response_headers = {**({"content-type": "application/json"} if payload else {}), **outcome.headers}
        self._record(RecordedRequest(method, raw_path, list(query), outcome.status,
                                     outcome.op.operation_id if outcome.op else None))
        return SandboxResponse(outcome.status, response_headers, payload)

    def transport(self) -> httpx.BaseTransport:
        """In-process transport: `httpx.Client(transport=sb.transport(), base_url="http://sandbox.local/v2")`."""
        def respond(request: httpx.Request) -> httpx.Response:
            target = request.url.raw_path.decode("ascii")
            path, _, raw_query = target.partition("?")
            pairs = parse_qsl(raw_query, keep_blank_values=True)
            result = self.handle(request.method, path, pairs, request.headers, request.read())
            return httpx.Response(result.status, headers=result.headers, content=result.body)
        return httpx.MockTransport(respond)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> AbstractContextManager[str]:
        """Serve over HTTP in a background thread; yields the base URL (`http://host:port/v2`)."""
        return serving(self, host, port)

    def _record(self, entry: RecordedRequest) -> None:
        with self._requests_lock:
            self.requests.append(entry)

    # -- the pipeline ----------------------------------------------------------------------
    def _dispatch(self, method: str, path: str, query: list[tuple[str, str]], headers: Mapping[str, str],
                  body: bytes) -> _Outcome:
        route = self.spec.match(path[len(SERVER_PREFIX):]) if path.startswith(SERVER_PREFIX + "/") else None
        op = self.spec.operations.get((method, route[0])) if route else None
        area_op = op or (self._any_operation(route[0]) if route else None)
        rate_headers: dict[str, str] = {}
        try:
            self._authenticate(headers)
            rate_headers = self._rate_limit()
            if route is None:
                raise ApiError(404, [ErrorItem("10005", f"The requested path {path} does not exist.")])
            if op is None:
                raise self._not_allowed(method, route[0])
            fault = self._faults.roll(method)
            if fault and not fault.after_commit:
                raise unexpected(fault.status)
            if self._pages.active and self.spec.page_size_unbounded(op):
                query = self._pages.apply(query)
            outcome = self._execute(op, route[1], query, body)
            if fault:
                # The change is committed; only the response is lost.
                raise unexpected(fault.status)
        except ApiError as exc:
            outcome = self._error(area_op, exc)
        if self._limiter is not None:
            outcome.headers = {**(rate_headers or self._limiter.peek()), **outcome.headers}
        return outcome

    def _execute(self, op: Operation, params: dict[str, str], query: list[tuple[str, str]], body: bytes) -> _Outcome:
        checked = self.spec.check_request(op, params, query, body)
        if checked.status:
            raise ApiError(checked.status, checked.problems)
        handler = self._routes.get((op.method, op.template))
        if handler is None:
            raise ApiError(501, [ErrorItem("10007", f"The sandbox does not implement {op.method} {op.template} yet.",
                                           title="Not implemented")])
        call = Call(self.state, params, checked.query, checked.body, frozenset(checked.given))
        with self.state.lock:
            self.advance()
            status, payload = handler(call)
        return _Outcome(status, payload, op)

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        supplied = ""
        for name, value in headers.items():
            if name.lower() == "authorization":
                scheme, _, token = value.strip().partition(" ")
                supplied = token.strip() if scheme.lower() == "bearer" else ""
        if not hmac.compare_digest(supplied.encode(), self._api_key.encode()):
            raise ApiError(401, [ErrorItem("10009", "Could not understand the provided credentials.")])

    def _rate_limit(self) -> dict[str, str]:
        if self._limiter is None:
            return {}
        allowed, headers = self._limiter.take()
        if not allowed:
            raise ApiError(429, [ErrorItem("10011", "You have exceeded the maximum number of allowed requests.")],
                           headers)
        return headers

    def _not_allowed(self, method: str, template: str) -> ApiError:
        allowed = self.spec.methods(template)
        detail = f"The {method} method is not allowed on {template}; allowed: {', '.join(allowed)}."
        return ApiError(405, [ErrorItem("10015", detail, title="Method not allowed")], {"Allow": ", ".join(allowed)})

    def _any_operation(self, template: str) -> Operation | None:
        methods = self.spec.methods(template)
        return self.spec.operations[(methods[0], template)] if methods else None

    def _error(self, op: Operation | None, exc: ApiError) -> _Outcome:
        body = envelope(exc.items, integer_code=self.spec.integer_codes(op, exc.status))
        return _Outcome(exc.status, body, op, dict(exc.headers))


__all__ = ["Sandbox", "SandboxResponse", "RecordedRequest"]
