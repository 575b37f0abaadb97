"""TelnyxClient: the edge between the tool and the Telnyx API, and the only module that imports httpx.

It owns authentication, connection reuse, a bound on requests in flight, pagination (later pages of a list
fetched concurrently, a window of them at a time, once the first gives `meta.total_pages` and the
`meta.page_size` the server applied), pacing from the rate-limit headers, retries with exponential backoff
and jitter, and the translation of HTTP failures into errors.py.

Every answer is hostile until checked: a redirect, a 2xx body that is not a JSON object with `data` (a list
with `meta` for lists), an item without an id, a body past its size limit or a request past its deadline is
an UnreadableAnswerError naming the URL and the status, never "nothing there". Objects read twice (the same
`id` on two pages) count once. Limits: MAX_BODY_BYTES per answer, MAX_ERROR_BODY_BYTES and
MAX_DETAIL_CHARS for what an error answer shows, MAX_LIST_ITEMS per list, the `deadline` per request.

Retries: GET, PATCH and DELETE are retried on 408/409/429/5xx, timeouts and connection errors. A create
(POST) is retried blindly only when the API cannot have acted on it (429, or no connection made). After
an ambiguous failure (5xx, a timeout after sending) the caller's `recover` re-reads the account and
returns the resource if the create did happen, so a lost answer never makes a duplicate.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx
import pydantic_core

from reconciler import errors, retry
from reconciler.errors import ApiError, ApiProblem, UnreadableAnswerError

log = logging.getLogger("reconciler.client")

DEFAULT_BASE_URL = "https://api.telnyx.com/v2"
MAX_PAGE_SIZE = 250
# Where a list refuses MAX_PAGE_SIZE (its spec declares no maximum), the first page is asked again once at
# the spec's example size, else at the API's default page size.
FALLBACK_PAGE_SIZES = {"/integration_secrets": 25}
DEFAULT_PAGE_SIZE = 20
# The largest list the tool reads: ten times the 100,000-number account it is measured at (README).
MAX_LIST_ITEMS = 1_000_000
MAX_BODY_BYTES = 64 * 2**20
MAX_ERROR_BODY_BYTES = 2**20
MAX_DETAIL_CHARS = 500
DEFAULT_DEADLINE = 120.0
RETRY_STATUSES = frozenset({408, 409, 429, 500, 501, 502, 503, 504})
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


@dataclass(frozen=True)
class _Answer:
    """A response read whole, within its limits: `cut` when its body passed the limit and was cut there."""

    status: int
    headers: httpx.Headers
    body: bytes
    where: str  # method and URL, for messages
    cut: bool = False


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
        deadline: float = DEFAULT_DEADLINE,
        max_retries: int = 4,
        backoff: float = retry.FIRST_DELAY,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        api_key = _usable_key(api_key)
        self.base_url = check_base_url(base_url) if transport is None else base_url.rstrip("/")
        self.max_in_flight = max(1, max_in_flight)
        self.max_retries = max_retries
        self.deadline = deadline
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
        return self._call("GET", path, params=params, what=what or f"reading {path}", shape=_with_data)

    def patch(self, path: str, body: dict[str, Any], *, what: str = "") -> dict[str, Any]:
        return self._data(self._call("PATCH", path, body=body, what=what or f"updating {path}"))

    def post(self, path: str, body: dict[str, Any], *, what: str = "") -> dict[str, Any]:
        """A POST that is safe to repeat (an action, not a create)."""
        return self._data(self._call("POST", path, body=body, what=what or f"calling {path}"))

    def delete(self, path: str, *, what: str = "") -> dict[str, Any]:
        return self._data(self._call("DELETE", path, what=what or f"deleting {path}"))

    def create(self, path: str, body: dict[str, Any], *, what: str, recover: Recover) -> dict[str, Any]:
        """POST a new resource without ever making two: see the module docstring. After an ambiguous
        attempt, a refusal of the next one as a duplicate (409/422) means the earlier one took effect."""
        ambiguous_before = False
        for attempt in range(self.max_retries + 1):
            try:
                created = self._data(self._call("POST", path, body=body, what=what, create=True))
            except _Ambiguous as ambiguous:
                log.info("%s: answer lost (%s); checking whether it was created", what, ambiguous.error.status)
                found = recover()
                if found is not None:
                    return found
                if attempt == self.max_retries:
                    raise ambiguous.error from None
                ambiguous_before = True
                self._backoff(attempt, None)
                continue
            except ApiError as refused:
                found = recover() if ambiguous_before and refused.status in (409, 422) else None
                if found is None:
                    raise
                return found
            if created.get("id") in (None, ""):
                raise self._unreadable(200, what, f"POST {self.base_url}{path}", "a created resource without an id")
            return created
        raise AssertionError("unreachable")

    def list_all(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        transform: Callable[[dict[str, Any]], Any] | None = None,
    ) -> list[Any]:
        """Every item of a paginated list, each `id` once: the first page at the largest page size, later
        pages at the size the server applied, a window of max_in_flight of them at a time.

        `transform` maps each item as its page arrives, so a large account is never held in raw form.
        """
        base = dict(params or {})
        collected = _Collected(transform or (lambda item: item), f"listing {path}")
        first, size = self._first_page(path, base)
        total = int(first["meta"].get("total_pages") or 0)
        size = int(first["meta"].get("page_size") or size)
        if total * size > MAX_LIST_ITEMS:
            raise self._unreadable(200, f"listing {path}", self._where(path, base, 1, size),
                                   f"meta.total_pages {total:,} of {size} items: more than the limit of "
                                   f"{MAX_LIST_ITEMS:,} items the tool reads from one list")
        collected.add(collected.read(first), partial(self._where, path, base, 1, size))
        if total <= 1:
            return collected.items
        window = self.max_in_flight
        with ThreadPoolExecutor(max_workers=min(window, total - 1)) as pool:
            pending: deque[tuple[Future[_Read], int]] = deque()
            number = 2
            while pending or number <= total:
                while number <= total and len(pending) < window:
                    pending.append((pool.submit(self._read_page, path, base, number, size, collected), number))
                    number += 1
                future, done = pending.popleft()
                collected.add(future.result(), partial(self._where, path, base, done, size))
        return collected.items

    def _read_page(self, path: str, base: dict[str, Any], number: int, size: int, collected: _Collected) -> _Read:
        return collected.read(self._list_page(path, base, number, size))

    def _first_page(self, path: str, base: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Page 1 at MAX_PAGE_SIZE; refused for its size, once more at the fallback size."""
        try:
            return self._list_page(path, base, 1, MAX_PAGE_SIZE), MAX_PAGE_SIZE
        except errors.UnprocessableError as exc:
            if not any("page" in f"{p.pointer} {p.detail}".lower() for p in exc.problems):
                raise
            size = FALLBACK_PAGE_SIZES.get(path, DEFAULT_PAGE_SIZE)
            log.info("%s refused page[size]=%d; asking for %d", path, MAX_PAGE_SIZE, size)
            return self._list_page(path, base, 1, size), size

    def _list_page(self, path: str, base: dict[str, Any], number: int, size: int) -> dict[str, Any]:
        query = {**base, "page[number]": number, "page[size]": size}
        what = f"listing {path}" + (f" (page {number})" if number > 1 else "")
        try:
            return self._call("GET", path, params=query, what=what, shape=_list_shape)
        except errors.NotFoundError as exc:  # a list never goes away: the address is wrong, not the resource
            exc.hint = (f"The API answered 404 for {path}, a path that should exist: the base URL {self.base_url} "
                        f"is probably wrong (Telnyx's is {DEFAULT_BASE_URL}; see --base-url and TELNYX_BASE_URL).")
            raise

    def _where(self, path: str, base: dict[str, Any], number: int, size: int) -> str:
        query = {**base, "page[number]": number, "page[size]": size}
        return f"GET {self._http.build_request('GET', path, params=query).url}"

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
        shape: Callable[[dict[str, Any]], str | None] | None = None,
    ) -> dict[str, Any]:
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                answer = self._send(method, path, params, body)
            except httpx.ConnectError as exc:
                error: ApiError = _cannot_connect(what, f"{self.base_url}{path}", exc)
                retry_after = None
                if not last:  # a silent wait of many seconds looks like a hang: say what is retried
                    log.warning("%s; retry %d of %d", error.message, attempt + 1, self.max_retries)
            except httpx.TransportError as exc:
                error = errors.TransportError(0, what, [ApiProblem(detail=f"{type(exc).__name__}: {exc}")])
                if create:
                    raise _Ambiguous(error) from None
                retry_after = None
            else:
                status = answer.status
                if status < 400:
                    return self._payload(answer, what, shape)
                if status == 404 and method == "DELETE" and attempt > 0:
                    return {}  # an earlier attempt deleted it; its answer was lost
                error = self._error(answer, what)
                retry_after = _retry_after(answer.headers)
                if status not in RETRY_STATUSES or (create and status == 409):
                    raise error
                if create and status >= 500:
                    raise _Ambiguous(error)
            if last:
                raise error
            self._backoff(attempt, retry_after)
        raise AssertionError("unreachable")

    def _send(self, method: str, path: str, params: dict[str, Any] | None, body: dict[str, Any] | None) -> _Answer:
        with self._slots:
            self._take_from_window()
            with self._lock:
                self.requests_sent += 1  # counted before sending: an attempt that gets no answer is still one
                self._in_flight += 1
            started = time.monotonic()
            try:
                request = self._http.build_request(method, path, params=params, json=body)
                response = self._http.send(request, stream=True)
                try:
                    self._note_rate_limit(response)
                    answer = self._read(response, started + self.deadline)
                finally:
                    response.close()
            finally:
                with self._lock:
                    self._in_flight -= 1
        log.debug("%s %s -> %s (%.0f ms)", method, path, answer.status, (time.monotonic() - started) * 1000)
        return answer

    def _read(self, response: httpx.Response, deadline: float) -> _Answer:
        """The body, read until the deadline of the request and up to its size limit."""
        limit = MAX_BODY_BYTES if response.status_code < 400 else MAX_ERROR_BODY_BYTES
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout(f"no complete answer within the deadline of {self.deadline:g} s per request",
                                        request=response.request)
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                break
        where = f"{response.request.method} {response.request.url}"
        return _Answer(response.status_code, response.headers, b"".join(chunks)[:limit], where, size > limit)

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
            delay = retry.jittered(attempt, self.backoff, self.rng)
        log.debug("retrying in %.2f s", delay)
        self.sleep(delay)

    def _payload(self, answer: _Answer, what: str, shape: Callable[[dict[str, Any]], str | None] | None) -> dict[str, Any]:
        """The JSON object of a 2xx answer, checked: see the module docstring."""
        if 300 <= answer.status:
            location = answer.headers.get("location")
            return self._refuse(answer, what, f"a redirect{f' to {location}' if location else ''}, which the tool never follows")
        if answer.cut:
            return self._refuse(answer, what, f"a body larger than the limit of {MAX_BODY_BYTES // 2**20} MiB per answer")
        if not answer.body:
            return {} if answer.status == 204 else self._refuse(answer, what, "an empty body")
        try:
            payload = _parsed(answer.body)
        except ValueError:
            kind = answer.headers.get("content-type") or "no content type"
            return self._refuse(answer, what, f"a body that is not JSON ({kind})")
        problem = _object_shape(payload) or (shape(payload) if shape else None)
        return self._refuse(answer, what, problem) if problem else payload

    def _refuse(self, answer: _Answer, what: str, problem: str) -> NoReturn:
        raise self._unreadable(answer.status, what, answer.where, problem)

    @staticmethod
    def _unreadable(status: int, what: str, where: str, problem: str) -> UnreadableAnswerError:
        detail = f"{where} answered HTTP {status} with {problem}, not the JSON the API documents"
        return UnreadableAnswerError(status, what, [ApiProblem(detail=detail)])

    @staticmethod
    def _error(answer: _Answer, what: str) -> ApiError:
        problems = []
        try:
            payload = json.loads(answer.body)
        except ValueError:
            payload = {}
        for item in (payload.get("errors") if isinstance(payload, dict) else None) or []:
            if isinstance(item, dict):
                given = item.get("source")
                source = given if isinstance(given, dict) else {}
                problems.append(
                    ApiProblem(
                        code=_shortened(item.get("code", "")),
                        title=_shortened(item.get("title", "")),
                        detail=_shortened(item.get("detail", "")),
                        pointer=_shortened(source.get("pointer") or source.get("parameter") or ""),
                    )
                )
        if answer.cut and not problems:
            start = _shortened(answer.body[: MAX_DETAIL_CHARS + 1].decode("utf-8", "replace"))
            limit = f"{MAX_ERROR_BODY_BYTES // 2**20} MiB"
            problems.append(ApiProblem(detail=f"an error answer larger than the limit of {limit}; it begins: {start}"))
        status = answer.status
        cls = STATUS_ERRORS.get(status, errors.ServerError if status >= 500 else ApiError)
        return cls(status, what, problems)


def _cannot_connect(what: str, url: str, exc: httpx.ConnectError) -> ApiError:
    error = errors.TransportError(0, what, [ApiProblem(detail=f"cannot connect to {url}: {exc}")])
    error.message = f"{what} failed: cannot connect to {url} ({exc})"  # no HTTP status: nothing answered
    error.args = (error.message,)
    return error


@dataclass(frozen=True, slots=True)
class _Read:
    """A page as the thread that fetched it left it: its items' ids, and its items converted or, when one of
    them cannot be, as they came (`_Collected.add` then converts them one by one to say which is wrong);
    `unique`: the ids as a set, when none repeats on the page. The page itself is not kept, so pages waiting
    their turn hold only what is needed."""

    idents: list[str]
    items: list[Any]
    converted: bool
    unique: set[str] | None


class _Collected:
    """Items of a list's pages, each `id` once (offset pagination repeats items when the list changes
    during the read), mapped by `convert` as they arrive."""

    def __init__(self, convert: Callable[[dict[str, Any]], Any], what: str) -> None:
        self.convert = convert
        self.what = what
        self.items: list[Any] = []
        self._seen: set[str] = set()

    def read(self, page: dict[str, Any]) -> _Read:
        """Ids and items of a page converted by the thread that fetched it, just after parsing it, while its
        objects are still in that processor's cache (a tenth less time than later in the collecting thread).
        Touches nothing shared: what is kept is decided by `add`."""
        raws = page["data"]
        idents = [str(raw["id"]) for raw in raws]
        try:
            converted = list(map(self.convert, raws))
        except (KeyError, TypeError, ValueError, AttributeError):
            return _Read(idents, raws, False, None)
        unique = set(idents)
        return _Read(idents, converted, True, unique if len(unique) == len(idents) else None)

    def add(self, read: _Read, where: Callable[[], str]) -> None:
        """`where` gives the page's URL, built only when a message needs it: building it for every page of a large
        list cost a fifth of the time spent reading the pages. A page of items not seen before, all of them
        readable, is taken whole; any other goes item by item, which says which item is wrong."""
        if read.converted and read.unique is not None and self._seen.isdisjoint(read.unique):
            self._seen.update(read.unique)
            self.items.extend(read.items)
        else:
            self._add_each(read, where)
        self._check_count(where)

    def _add_each(self, read: _Read, where: Callable[[], str]) -> None:
        for ident, item in zip(read.idents, read.items, strict=True):
            if ident in self._seen:
                continue
            self._seen.add(ident)
            if read.converted:
                self.items.append(item)
                continue
            try:
                self.items.append(self.convert(item))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                problem = f"an item ({ident}) without the documented fields ({type(exc).__name__} {exc})"
                raise TelnyxClient._unreadable(200, self.what, where(), problem) from None

    def _check_count(self, where: Callable[[], str]) -> None:
        if len(self.items) > MAX_LIST_ITEMS:
            raise TelnyxClient._unreadable(200, self.what, where(),
                                           f"more than the limit of {MAX_LIST_ITEMS:,} items per list")


def _parsed(body: bytes) -> Any:
    """A JSON body, parsed by pydantic's parser (in Rust: a third less time for a page of 250 numbers); a body
    it refuses that the standard parser reads (UTF-16, a byte order mark, lone surrogates, deep nesting) is
    read by the latter, so every answer the tool read before it still reads. ValueError: not JSON."""
    try:
        return pydantic_core.from_json(body, cache_strings="keys")
    except ValueError:
        return json.loads(body)


def _object_shape(payload: Any) -> str | None:
    """What is wrong with a 2xx JSON body: it must be an object with `data` (an object or a list), or
    the bare resource some areas answer with; a resource's id is never null."""
    if not isinstance(payload, dict):
        return f"JSON that is not an object ({type(payload).__name__})"
    if "data" not in payload:
        return None if payload.get("id") not in (None, "") else "an object with neither `data` nor an id"
    data = payload["data"]
    if not isinstance(data, (dict, list)):
        return f"`data` that is neither an object nor a list ({type(data).__name__})"
    if isinstance(data, dict) and "id" in data and data["id"] in (None, ""):
        return "a resource whose id is null"
    return None


def _with_data(payload: dict[str, Any]) -> str | None:
    return None if "data" in payload else "an object without `data`"


def _list_shape(payload: dict[str, Any]) -> str | None:
    """What is wrong with a page of a list: `data` a list of objects with ids, and `meta` with counts."""
    data, meta = payload.get("data"), payload.get("meta")
    if not isinstance(data, list):
        return "a list answer whose `data` is not a list"
    if not isinstance(meta, dict):
        return "a list answer without `meta`"
    total, size = meta.get("total_pages"), meta.get("page_size", 1)
    if not _count(total) or not _count(size) or size < 1:
        return f"`meta` without usable total_pages and page_size ({total!r}, {size!r})"
    if len(data) > size and "page_size" in meta:
        return f"{len(data)} items on a page whose meta.page_size is {size}"
    if _usable_ids(data):
        return None
    for item in data:
        if not isinstance(item, dict) or item.get("id") in (None, "") or isinstance(item.get("id"), (dict, list)):
            return "an item without an id" if isinstance(item, dict) else "an item that is not an object"
    return None


def _usable_ids(data: list[Any]) -> bool:
    """Whether every item is an object with a usable id, checked a page at a time (item by item, the check
    was a tenth of reading a page); when not, _list_shape looks item by item for what to say."""
    if not all(type(item) is dict for item in data):
        return False
    ids = [item.get("id") for item in data]
    return None not in ids and "" not in ids and not any(issubclass(t, (dict, list)) for t in set(map(type, ids)))


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _shortened(value: Any) -> str:
    text = str(value)
    if len(text) <= MAX_DETAIL_CHARS:
        return text
    return f"{text[:MAX_DETAIL_CHARS]}… ({len(text) - MAX_DETAIL_CHARS:,} more characters not shown)"


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
