"""TelnyxClient: the edge between the tool and the Telnyx API, and the only module that imports httpx.

It owns authentication, connection reuse, a bound on requests in flight, pagination (all pages of a list
fetched concurrently once the first gives `meta.total_pages`), pacing from the rate-limit headers,
retries with exponential backoff and jitter, and the translation of HTTP failures into errors.py.

Retries: GET, PATCH and DELETE are retried on 408/409/429/5xx, timeouts and connection errors. A create
(POST) is retried blindly only when the API cannot have acted on it (429, or no connection made). After
an ambiguous failure (5xx, a timeout after sending) the caller's `recover` re-reads the account and
returns the resource if the create did happen, so a lost answer never makes a duplicate.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx

from reconciler import errors
from reconciler.errors import ApiError, ApiProblem

log = logging.getLogger("reconciler.client")

DEFAULT_BASE_URL = "https://api.telnyx.com/v2"
MAX_PAGE_SIZE = 250
RETRY_STATUSES = frozenset({408, 409, 429, 500, 501, 502, 503, 504})
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 60.0
STATUS_ERRORS: dict[int, type[ApiError]] = {
    400: errors.UnprocessableError,
    401: errors.AuthenticationError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    422: errors.UnprocessableError,
    429: errors.RateLimitedError,
}

Recover = Callable[[], "dict[str, Any] | None"]


def check_base_url(base_url: str) -> str:
    """The API key may travel only over https, or in clear to this machine's loopback."""
    parts = urlsplit(base_url)
    if parts.scheme == "https":
        return base_url.rstrip("/")
    host = parts.hostname or ""
    if parts.scheme == "http" and (host == "localhost" or _is_loopback(host)):
        return base_url.rstrip("/")
    raise errors.ReconcilerError(
        f"refusing to send the API key to {base_url!r}: only https URLs, or http on a loopback address, are allowed",
        "Use https://api.telnyx.com/v2 (the default) or a local sandbox such as http://127.0.0.1:4010/v2.",
    )


def _usable_key(api_key: str) -> str:
    """The key trimmed of surrounding whitespace (a stray newline from a file), and checked to fit a header.

    httpx and h11 reject an unfit header value with a message quoting it whole: the key must never get there.
    """
    key = api_key.strip()
    if not key:
        problem = ApiProblem(detail="no API key was given")
        raise errors.AuthenticationError(0, "configuring the client", [problem], "Set TELNYX_API_KEY to an API v2 key.")
    if not (key.isascii() and key.isprintable()):
        problem = ApiProblem(detail="the API key contains characters that cannot be sent in a header (not shown)")
        raise errors.AuthenticationError(
            0, "configuring the client", [problem], "Set TELNYX_API_KEY to the key exactly as the portal shows it."
        )
    return key


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Ambiguous(Exception):
    """A create failed in a way that leaves unknown whether the API acted on it."""

    def __init__(self, error: ApiError) -> None:
        self.error = error


class TelnyxClient:
    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        transport: httpx.BaseTransport | None = None,
        max_in_flight: int = 8,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        api_key = _usable_key(api_key)
        self.base_url = check_base_url(base_url) if transport is None else base_url.rstrip("/")
        self.max_in_flight = max(1, max_in_flight)
        self.max_retries = max_retries
        self.backoff = backoff
        self.sleep = sleep
        self.monotonic = monotonic  # the clock of the rate-limit window (injected by tests, with `sleep`)
        self.rng = rng or random.Random()
        self.requests_sent = 0
        self._slots = threading.BoundedSemaphore(self.max_in_flight)
        self._lock = threading.Lock()
        # The rate-limit window as the last answer described it: how many more requests it allows (None:
        # unknown, so send) and when it resets. A request takes one when it gets its slot, just before sending.
        self._in_flight = 0
        self._budget: int | None = None
        self._window_ends = 0.0
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=self.max_in_flight, max_keepalive_connections=self.max_in_flight),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TelnyxClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- public calls ---------------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None, *, what: str = "") -> dict[str, Any]:
        return self._call("GET", path, params=params, what=what or f"reading {path}")

    def patch(self, path: str, body: dict[str, Any], *, what: str = "") -> dict[str, Any]:
        return self._data(self._call("PATCH", path, body=body, what=what or f"updating {path}"))

    def post(self, path: str, body: dict[str, Any], *, what: str = "") -> dict[str, Any]:
        """A POST that is safe to repeat (an action, not a create)."""
        return self._data(self._call("POST", path, body=body, what=what or f"calling {path}"))

    def delete(self, path: str, *, what: str = "") -> dict[str, Any]:
        return self._data(self._call("DELETE", path, what=what or f"deleting {path}"))

    def create(self, path: str, body: dict[str, Any], *, what: str, recover: Recover) -> dict[str, Any]:
        """POST a new resource without ever making two: see the module docstring."""
        for attempt in range(self.max_retries + 1):
            try:
                return self._data(self._call("POST", path, body=body, what=what, create=True))
            except _Ambiguous as ambiguous:
                log.info("%s: answer lost (%s); checking whether it was created", what, ambiguous.error.status)
                found = recover()
                if found is not None:
                    return found
                if attempt == self.max_retries:
                    raise ambiguous.error from None
                self._backoff(attempt, None)
        raise AssertionError("unreachable")

    def list_all(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        transform: Callable[[dict[str, Any]], Any] | None = None,
    ) -> list[Any]:
        """Every item of a paginated list, at the largest page size, later pages fetched concurrently.

        `transform` maps each item as its page arrives, so a large account is never held in raw form.
        """
        base = dict(params or {})
        convert = transform or (lambda item: item)

        def page(number: int) -> tuple[list[Any], int]:
            query = {**base, "page[number]": number, "page[size]": MAX_PAGE_SIZE}
            payload = self.get(path, query, what=f"listing {path}" + (f" (page {number})" if number > 1 else ""))
            pages = int((payload.get("meta") or {}).get("total_pages") or 1)
            return [convert(item) for item in payload.get("data") or []], pages

        items, total_pages = page(1)
        if total_pages <= 1:
            return items
        with ThreadPoolExecutor(max_workers=min(self.max_in_flight, total_pages - 1)) as pool:
            for chunk, _ in pool.map(page, range(2, total_pages + 1)):
                items.extend(chunk)
        return items

    # --- machinery ------------------------------------------------------------------------------------

    @staticmethod
    def _data(payload: dict[str, Any]) -> dict[str, Any]:
        data = payload.get("data", payload)
        return data if isinstance(data, dict) else payload

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        what: str,
        create: bool = False,
    ) -> dict[str, Any]:
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self._send(method, path, params, body)
            except httpx.ConnectError as exc:
                error: ApiError = errors.TransportError(0, what, [ApiProblem(detail=f"cannot connect: {exc}")])
                retry_after = None
            except httpx.TransportError as exc:
                error = errors.TransportError(0, what, [ApiProblem(detail=f"{type(exc).__name__}: {exc}")])
                if create:
                    raise _Ambiguous(error) from None
                retry_after = None
            else:
                status = response.status_code
                if status < 400:
                    return self._json(response)
                if status == 404 and method == "DELETE" and attempt > 0:
                    return {}  # an earlier attempt deleted it; its answer was lost
                error = self._error(response, what)
                retry_after = _retry_after(response)
                if status not in RETRY_STATUSES or (create and status == 409):
                    raise error
                if create and status >= 500:
                    raise _Ambiguous(error)
            if last:
                raise error
            self._backoff(attempt, retry_after)
        raise AssertionError("unreachable")

    def _send(self, method: str, path: str, params: dict[str, Any] | None, body: dict[str, Any] | None) -> httpx.Response:
        with self._slots:
            self._take_from_window()
            with self._lock:
                self.requests_sent += 1  # counted before sending: an attempt that gets no answer is still one
                self._in_flight += 1
            started = time.monotonic()
            try:
                response = self._http.request(method, path, params=params, json=body)
                self._note_rate_limit(response)
            finally:
                with self._lock:
                    self._in_flight -= 1
        log.debug("%s %s -> %s (%.0f ms)", method, path, response.status_code, (time.monotonic() - started) * 1000)
        return response

    def _note_rate_limit(self, response: httpx.Response) -> None:
        """Learn the window from the answer: what it has left, less what this client has reserved or has in
        flight besides this request (each will spend one), is what may still be sent before it resets."""
        try:
            remaining = int(response.headers["x-ratelimit-remaining"])
            reset = min(float(response.headers["x-ratelimit-reset"]), MAX_RETRY_AFTER)
        except (KeyError, ValueError):
            return
        with self._lock:
            self._budget = remaining - (self._in_flight - 1)
            self._window_ends = self.monotonic() + reset

    def _take_from_window(self) -> None:
        """Spend one request of the window; when it has none left, wait for its reset (holding the slot, so
        no other request goes out meanwhile). Past the reset the window is unknown until the next answer."""
        with self._lock:
            now = self.monotonic()
            if self._budget is None or now >= self._window_ends:
                return
            if self._budget > 0:
                self._budget -= 1
                return
            delay = self._window_ends - now
        self.sleep(delay)

    def _backoff(self, attempt: int, retry_after: float | None) -> None:
        if retry_after is not None:
            delay = min(retry_after, MAX_RETRY_AFTER)
        else:
            ceiling = min(self.backoff * (2**attempt), MAX_BACKOFF)
            delay = ceiling / 2 + self.rng.uniform(0, ceiling / 2)
        log.debug("retrying in %.2f s", delay)
        self.sleep(delay)

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        if not response.content:
            return {}
        try:
            payload = response.json()
        except ValueError:
            return {}
        return payload if isinstance(payload, dict) else {"data": payload}

    @staticmethod
    def _error(response: httpx.Response, what: str) -> ApiError:
        problems = []
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        for item in (payload.get("errors") if isinstance(payload, dict) else None) or []:
            if isinstance(item, dict):
                source = item.get("source") or {}
                problems.append(
                    ApiProblem(
                        code=str(item.get("code", "")),
                        title=str(item.get("title", "")),
                        detail=str(item.get("detail", "")),
                        pointer=str(source.get("pointer") or source.get("parameter") or ""),
                    )
                )
        status = response.status_code
        cls = STATUS_ERRORS.get(status, errors.ServerError if status >= 500 else ApiError)
        return cls(status, what, problems)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
