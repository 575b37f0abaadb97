"""TelnyxClient against a fake Telnyx account behind httpx.MockTransport.

The account keeps billing groups the way API v2 does (pages of `data` with `meta.total_pages`, the `errors[]`
envelope, bearer auth, rate-limit headers) and takes faults queued per method: a status, or a transport
exception, optionally after it has done the work (the answer is lost on the way back). The client's `sleep`
is the account's recorder, so nothing here waits for real and every delay can be checked.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from reconciler.client import MAX_PAGE_SIZE, TelnyxClient
from reconciler.errors import (
    ApiError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ReconcilerError,
    ServerError,
    TransportError,
    UnprocessableError,
)

API_KEY = "KEYclient-tests-0193-must-never-be-shown"
BASE_URL = "https://api.telnyx.com/v2"
GROUPS = "/billing_groups"


def problem(code: str, title: str, detail: str, pointer: str = "") -> dict[str, Any]:
    item: dict[str, Any] = {"code": code, "title": title, "detail": detail}
    if pointer:
        item["source"] = {"pointer": pointer}
    return {"errors": [item]}


PROBLEMS = {
    400: problem("10015", "Bad Request", "The filter is not supported.", "/filter"),
    401: problem("10009", "Authentication failed", "Could not understand the provided credentials."),
    403: problem("10010", "Authorization failed", "The API key may not manage billing groups."),
    404: problem("10005", "Resource not found", "The requested resource or URL could not be found."),
    409: problem("10012", "Duplicate resource", "A billing group with this name is being created."),
    422: problem("10015", "Bad Request", "The name must be at most 255 characters.", "/name"),
    429: problem("10011", "Too many requests", "You have exceeded the maximum number of allowed requests."),
    500: problem("10007", "Unexpected error", "An unexpected error occured."),
    503: problem("10007", "Unexpected error", "The service is temporarily unavailable."),
}


@dataclass
class Fault:
    """What the next request of `method` gets instead of its normal answer."""

    method: str
    status: int = 500
    raises: type[httpx.TransportError] | None = None
    acted: bool = False  # the account did the work before the answer was lost
    headers: dict[str, str] = field(default_factory=dict)


class FakeAccount:
    """A Telnyx account holding billing groups, served through `handle` to a MockTransport."""

    def __init__(self, groups: int = 0, *, pause: float = 0.0, rate_limit: int | None = None) -> None:
        self.groups: dict[str, dict[str, Any]] = {}
        self.requests: list[httpx.Request] = []
        self.faults: list[Fault] = []
        self.sleeps: list[float] = []
        self.timeline: list[str] = []
        self.clock = 0.0
        self.pause = pause
        self.rate_limit = rate_limit
        self.window_left = rate_limit or 0
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()
        for number in range(groups):
            self._store({"name": f"group-{number:04d}"})

    # --- the test's side -------------------------------------------------------------------------

    def fail(self, method: str, status: int = 500, *, times: int = 1, **options: Any) -> None:
        self.faults.extend(Fault(method, status, **options) for _ in range(times))

    def client(self, **options: Any) -> TelnyxClient:
        settings: dict[str, Any] = {
            "transport": httpx.MockTransport(self.handle),
            "sleep": self.sleep,
            "monotonic": self.monotonic,
            "rng": random.Random(0),
            **options,
        }
        return TelnyxClient(settings.pop("api_key", API_KEY), BASE_URL, **settings)

    def monotonic(self) -> float:
        """The client's clock, as on a loaded machine: 100 ms pass between any two readings."""
        self.clock += 0.1
        return self.clock

    def sleep(self, seconds: float) -> None:
        """The client's sleep: recorded, never waited; a wait as long as the reset refills the window."""
        self.clock += seconds
        self.sleeps.append(seconds)
        self.timeline.append(f"sleep {seconds:.1f}")
        if seconds >= 1.5:
            self.window_left = self.rate_limit or 0

    def sent(self, method: str) -> list[httpx.Request]:
        return [request for request in self.requests if request.method == method]

    def pages_asked(self) -> list[int]:
        return sorted(int(request.url.params["page[number]"]) for request in self.sent("GET"))

    def named(self, name: str) -> dict[str, Any] | None:
        return next((group for group in self.groups.values() if group["name"] == name), None)

    # --- the API's side --------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            self.timeline.append(f"{request.method} {request.url.path}")
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            fault = next((f for f in self.faults if f.method == request.method), None)
            if fault is not None:
                self.faults.remove(fault)
        try:
            time.sleep(self.pause)
            response = self._answer(request, fault)
            response.headers.update(self._rate_limit_headers())
            return response
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer(self, request: httpx.Request, fault: Fault | None) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return httpx.Response(401, json=PROBLEMS[401])
        if fault is None:
            return self._route(request)
        if fault.acted:
            self._route(request)
        if fault.raises is not None:
            raise fault.raises(f"simulated {fault.raises.__name__}", request=request)
        return httpx.Response(fault.status, json=PROBLEMS[fault.status], headers=fault.headers)

    def _route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v2")
        if path == GROUPS and request.method == "GET":
            return self._page(request.url.params)
        if path == GROUPS and request.method == "POST":
            return httpx.Response(201, json={"data": self._store(json.loads(request.content))})
        group_id = path.removeprefix(f"{GROUPS}/")
        with self._lock:
            group = self.groups.get(group_id) if path.startswith(f"{GROUPS}/") else None
            if group is not None and request.method == "DELETE":
                del self.groups[group_id]
        if group is None:
            return httpx.Response(404, json=PROBLEMS[404])
        return httpx.Response(200, json={"data": group})

    def _page(self, params: httpx.QueryParams) -> httpx.Response:
        size = int(params.get("page[size]", 20))
        number = int(params.get("page[number]", 1))
        with self._lock:
            everything = list(self.groups.values())
        meta = {
            "total_pages": max(1, math.ceil(len(everything) / size)),
            "total_results": len(everything),
            "page_number": number,
            "page_size": size,
        }
        return httpx.Response(200, json={"data": everything[(number - 1) * size : number * size], "meta": meta})

    def _store(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            group = {"id": f"f5586561-{len(self.groups):04d}", "record_type": "billing_group", **body}
            self.groups[group["id"]] = group
        return group

    def _rate_limit_headers(self) -> dict[str, str]:
        if self.rate_limit is None:
            return {}
        with self._lock:
            self.window_left = max(0, self.window_left - 1)
            left = self.window_left
        return {"x-ratelimit-limit": str(self.rate_limit), "x-ratelimit-remaining": str(left), "x-ratelimit-reset": "2"}


def finder(client: TelnyxClient, name: str, calls: list[str]) -> Callable[[], dict[str, Any] | None]:
    """A `recover` that re-reads the account, as a kind does, and notes that it was asked."""

    def recover() -> dict[str, Any] | None:
        calls.append(name)
        return next((group for group in client.list_all(GROUPS) if group["name"] == name), None)

    return recover


def never_recover() -> dict[str, Any] | None:
    raise AssertionError("recover must not be called: the API cannot have acted on this create")


def raised(call: Callable[[], object]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


# --- pagination -----------------------------------------------------------------------------------


def test_list_all_fetches_every_page_at_the_largest_size_in_page_order() -> None:
    account = FakeAccount(groups=600)

    groups = account.client().list_all(GROUPS)

    assert account.pages_asked() == [1, 2, 3]
    assert {request.url.params["page[size]"] for request in account.requests} == {str(MAX_PAGE_SIZE)} == {"250"}
    assert [group["name"] for group in groups] == [f"group-{n:04d}" for n in range(600)]


def test_list_all_keeps_the_callers_filters_on_every_page() -> None:
    account = FakeAccount(groups=300)

    account.client().list_all(GROUPS, {"filter[name][contains]": "group"})

    assert [request.url.params["filter[name][contains]"] for request in account.requests] == ["group", "group"]


def test_a_single_page_is_one_request() -> None:
    account = FakeAccount(groups=100)

    groups = account.client().list_all(GROUPS)

    assert len(groups) == 100
    assert account.pages_asked() == [1]


def test_an_empty_account_is_one_request_and_no_items() -> None:
    account = FakeAccount(groups=0)

    assert account.client().list_all(GROUPS) == []
    assert len(account.requests) == 1


@pytest.mark.parametrize("max_in_flight", [1, 3, 8])
def test_pages_are_fetched_concurrently_but_never_more_than_max_in_flight(max_in_flight: int) -> None:
    account = FakeAccount(groups=10 * MAX_PAGE_SIZE, pause=0.02)

    groups = account.client(max_in_flight=max_in_flight).list_all(GROUPS)

    assert len(groups) == 2500
    assert account.pages_asked() == list(range(1, 11))
    assert account.most_in_flight <= max_in_flight
    if max_in_flight > 1:
        assert account.most_in_flight > 1
    else:
        assert account.most_in_flight == 1


def test_two_lists_at_once_share_the_bound_on_requests_in_flight() -> None:
    account = FakeAccount(groups=6 * MAX_PAGE_SIZE, pause=0.02)
    client = account.client(max_in_flight=2)
    results: list[int] = []

    threads = [threading.Thread(target=lambda: results.append(len(client.list_all(GROUPS)))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == [1500, 1500, 1500]
    assert 1 < account.most_in_flight <= 2


# --- retries of reads -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_read_is_retried_after_a_passing_failure_and_succeeds(status: int) -> None:
    account = FakeAccount(groups=3)
    account.fail("GET", status, times=2)

    groups = account.client().list_all(GROUPS)

    assert len(groups) == 3
    assert len(account.requests) == 3
    assert len(account.sleeps) == 2


@pytest.mark.parametrize(("header", "slept"), [("3", 3.0), ("0.5", 0.5), ("120", 60.0)])
def test_retry_after_is_honoured_up_to_a_minute(header: str, slept: float) -> None:
    account = FakeAccount(groups=1)
    account.fail("GET", 429, headers={"Retry-After": header})

    account.client().list_all(GROUPS)

    assert account.sleeps == [slept]


def test_retry_after_on_a_503_is_honoured_too() -> None:
    account = FakeAccount(groups=1)
    account.fail("GET", 503, headers={"Retry-After": "7"})

    account.client().list_all(GROUPS)

    assert account.sleeps == [7.0]


def test_without_retry_after_the_delays_grow_exponentially_with_jitter() -> None:
    account = FakeAccount(groups=1)
    account.fail("GET", 500, times=4)

    account.client(max_retries=4, backoff=0.5).list_all(GROUPS)

    ceilings = [0.5, 1.0, 2.0, 4.0]
    assert len(account.sleeps) == 4
    assert all(ceiling / 2 <= delay <= ceiling for delay, ceiling in zip(account.sleeps, ceilings, strict=True))
    assert account.sleeps == sorted(set(account.sleeps))  # strictly growing
    assert account.sleeps != ceilings  # jittered, not the bare schedule


def test_the_jitter_comes_from_the_rng_given() -> None:
    def delays(seed: int) -> list[float]:
        account = FakeAccount(groups=1)
        account.fail("GET", 500, times=3)
        account.client(rng=random.Random(seed)).list_all(GROUPS)
        return account.sleeps

    assert delays(0) == delays(0)
    assert delays(0) != delays(1)


def test_backoff_is_capped_at_eight_seconds() -> None:
    account = FakeAccount(groups=1)
    account.fail("GET", 503, times=8)

    account.client(max_retries=8, backoff=0.5).list_all(GROUPS)

    assert len(account.sleeps) == 8
    assert max(account.sleeps) <= 8.0
    assert all(4.0 <= delay for delay in account.sleeps[4:])  # ceiling reached: between 4 and 8 s


def test_a_server_that_keeps_failing_gives_a_server_error_with_its_detail() -> None:
    account = FakeAccount(groups=1)
    account.fail("GET", 503, times=10)

    error = raised(lambda: account.client(max_retries=2).get(GROUPS))

    assert type(error) is ServerError
    assert error.status == 503
    assert "The service is temporarily unavailable." in str(error)
    assert len(account.requests) == 3
    assert error.hint


def test_a_rate_limit_that_never_lifts_gives_a_rate_limited_error_with_its_detail() -> None:
    account = FakeAccount(groups=1)
    account.fail("GET", 429, times=10)

    error = raised(lambda: account.client(max_retries=3).get(GROUPS))

    assert type(error) is RateLimitedError
    assert error.codes == {"10011"}
    assert "You have exceeded the maximum number of allowed requests." in str(error)
    assert len(account.requests) == 4
    assert error.hint


# --- failures that are not retried ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, UnprocessableError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (422, UnprocessableError),
    ],
)
def test_a_refusal_is_not_retried_and_has_its_own_class(status: int, kind: type[ApiError]) -> None:
    account = FakeAccount(groups=1)
    account.fail("GET", status)

    error = raised(lambda: account.client().get(GROUPS, what="listing billing groups"))

    assert type(error) is kind
    assert error.status == status
    assert len(account.requests) == 1
    assert account.sleeps == []
    assert PROBLEMS[status]["errors"][0]["detail"] in str(error)
    assert str(error).startswith("listing billing groups failed with HTTP")
    assert error.hint


def test_an_unprocessable_value_names_the_field() -> None:
    account = FakeAccount()
    account.fail("POST", 422)

    error = raised(lambda: account.client().create(GROUPS, {"name": "x" * 300}, what="creating", recover=never_recover))

    assert type(error) is UnprocessableError
    assert "The name must be at most 255 characters." in error.message
    assert "/name" in error.message
    assert error.problems[0].pointer == "/name"
    assert account.groups == {}


def test_a_wrong_key_is_an_authentication_error() -> None:
    account = FakeAccount(groups=1)

    error = raised(lambda: account.client(api_key="KEYsomeone-elses-key").list_all(GROUPS))

    assert type(error) is AuthenticationError
    assert error.codes == {"10009"}
    assert "KEYsomeone-elses-key" not in str(error)
    assert len(account.requests) == 1


# --- creates never make two -----------------------------------------------------------------------


def test_a_create_whose_answer_was_lost_is_found_and_not_sent_again() -> None:
    account = FakeAccount()
    account.fail("POST", 500, acted=True)
    client = account.client()
    recovered: list[str] = []

    group = client.create(GROUPS, {"name": "sales"}, what="creating sales", recover=finder(client, "sales", recovered))

    assert recovered == ["sales"]
    assert len(account.sent("POST")) == 1
    assert list(account.groups.values()) == [group]


def test_a_create_that_failed_without_effect_is_retried_once_and_made_once() -> None:
    account = FakeAccount()
    account.fail("POST", 500)
    client = account.client()
    recovered: list[str] = []

    group = client.create(GROUPS, {"name": "sales"}, what="creating sales", recover=finder(client, "sales", recovered))

    assert recovered == ["sales"]
    assert len(account.sent("POST")) == 2
    assert list(account.groups.values()) == [group]
    assert group["name"] == "sales"


def test_a_rate_limited_create_is_retried_without_recovering() -> None:
    account = FakeAccount()
    account.fail("POST", 429, times=2)

    group = account.client().create(GROUPS, {"name": "sales"}, what="creating sales", recover=never_recover)

    assert len(account.sent("POST")) == 3
    assert list(account.groups.values()) == [group]


def test_a_create_that_never_connected_is_retried_without_recovering() -> None:
    account = FakeAccount()
    account.fail("POST", raises=httpx.ConnectError)

    group = account.client().create(GROUPS, {"name": "sales"}, what="creating sales", recover=never_recover)

    assert len(account.sent("POST")) == 2
    assert list(account.groups.values()) == [group]


@pytest.mark.parametrize("acted", [True, False])
def test_a_create_that_timed_out_is_checked_before_being_sent_again(acted: bool) -> None:
    account = FakeAccount()
    account.fail("POST", raises=httpx.ReadTimeout, acted=acted)
    client = account.client()
    recovered: list[str] = []

    client.create(GROUPS, {"name": "sales"}, what="creating sales", recover=finder(client, "sales", recovered))

    assert recovered == ["sales"]
    assert len(account.sent("POST")) == (1 if acted else 2)
    assert [group["name"] for group in account.groups.values()] == ["sales"]


def test_a_conflicting_create_fails_at_once() -> None:
    account = FakeAccount()
    account.fail("POST", 409)

    error = raised(lambda: account.client().create(GROUPS, {"name": "sales"}, what="creating", recover=never_recover))

    assert error.status == 409
    assert error.codes == {"10012"}
    assert len(account.requests) == 1
    assert account.groups == {}


def test_a_create_that_keeps_failing_gives_up_with_nothing_made_twice() -> None:
    account = FakeAccount()
    account.fail("POST", 500, times=10)
    client = account.client(max_retries=2)
    recovered: list[str] = []

    error = raised(lambda: client.create(GROUPS, {"name": "sales"}, what="creating", recover=finder(client, "sales", recovered)))

    assert type(error) is ServerError
    assert len(account.sent("POST")) == 3
    assert recovered == ["sales"] * 3
    assert account.groups == {}


# --- deletes --------------------------------------------------------------------------------------


def test_a_delete_whose_answer_was_lost_succeeds_on_the_retry_404() -> None:
    account = FakeAccount(groups=1)
    (group_id,) = account.groups
    account.fail("DELETE", 503, acted=True)

    account.client().delete(f"{GROUPS}/{group_id}")

    assert account.groups == {}
    assert len(account.sent("DELETE")) == 2


def test_deleting_something_already_gone_is_not_found() -> None:
    account = FakeAccount()

    error = raised(lambda: account.client().delete(f"{GROUPS}/f5586561-9999"))

    assert type(error) is NotFoundError
    assert len(account.requests) == 1


# --- the network ----------------------------------------------------------------------------------


def test_a_refused_connection_is_retried_then_succeeds() -> None:
    account = FakeAccount(groups=2)
    account.fail("GET", raises=httpx.ConnectError, times=2)

    groups = account.client().list_all(GROUPS)

    assert len(groups) == 2
    assert len(account.requests) == 3


def test_a_connection_that_never_comes_gives_a_transport_error() -> None:
    account = FakeAccount(groups=2)
    account.fail("GET", raises=httpx.ConnectError, times=10)

    error = raised(lambda: account.client(max_retries=3).list_all(GROUPS))

    assert type(error) is TransportError
    assert "cannot connect" in str(error)
    assert len(account.requests) == 4
    assert len(account.sleeps) == 3


def test_requests_sent_counts_every_attempt_including_those_without_an_answer() -> None:
    account = FakeAccount(groups=2)
    account.fail("GET", raises=httpx.ConnectError)
    account.fail("GET", raises=httpx.ReadTimeout)
    account.fail("GET", 503)
    client = account.client()

    client.list_all(GROUPS)

    assert len(account.requests) == 4
    assert client.requests_sent == 4


# --- pacing ---------------------------------------------------------------------------------------


def test_an_exhausted_rate_limit_window_is_waited_out_before_the_next_request() -> None:
    account = FakeAccount(groups=1, rate_limit=2)
    client = account.client()

    for _ in range(3):
        client.get(GROUPS)

    # the window reset 2 s after the second answer, read one clock reading (100 ms) before the third request
    assert account.timeline == [f"GET /v2{GROUPS}", f"GET /v2{GROUPS}", "sleep 1.9", f"GET /v2{GROUPS}"]
    assert account.sleeps == [pytest.approx(1.9)]


def test_a_window_with_requests_left_is_not_waited_for() -> None:
    account = FakeAccount(groups=1, rate_limit=100)
    client = account.client()

    for _ in range(5):
        client.get(GROUPS)

    assert account.sleeps == []


# --- the base URL and the API key -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://api.example.com/v2",
        "http://127.0.0.1.example.com/v2",
        "http://localhost@api.example.com/v2",
        "ftp://api.telnyx.com/v2",
    ],
)
def test_the_key_is_never_sent_in_clear_off_this_machine(url: str) -> None:
    with pytest.raises(ReconcilerError) as caught:
        TelnyxClient(API_KEY, url)

    assert "only https" in str(caught.value)
    assert API_KEY not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["https://api.telnyx.com/v2", "http://127.0.0.1:4010/v2", "http://localhost:4010/v2", "http://[::1]:4010/v2/"]
)
def test_https_and_loopback_base_urls_are_accepted(url: str) -> None:
    with TelnyxClient(API_KEY, url) as client:
        assert client.base_url == url.rstrip("/")


@pytest.mark.parametrize("key", ["", " \n"])
def test_an_empty_key_is_refused(key: str) -> None:
    with pytest.raises(AuthenticationError) as caught:
        TelnyxClient(key, BASE_URL)

    assert caught.value.hint


def test_the_key_travels_as_a_bearer_token_on_every_request() -> None:
    account = FakeAccount(groups=300)
    client = account.client()
    client.list_all(GROUPS)
    client.create(GROUPS, {"name": "sales"}, what="creating", recover=never_recover)

    assert len(account.requests) == 3
    assert {request.headers["authorization"] for request in account.requests} == {f"Bearer {API_KEY}"}


def test_a_key_with_a_stray_newline_is_trimmed_and_works() -> None:
    account = FakeAccount(groups=1)

    groups = account.client(api_key=f"  {API_KEY}\n").list_all(GROUPS)

    assert len(groups) == 1
    assert account.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize("key", [f"{API_KEY}\r\nX-Other: 1", f"{API_KEY}\x00", f"{API_KEY}é"])
def test_a_key_that_cannot_be_a_header_is_refused_without_showing_it(key: str) -> None:
    with pytest.raises(AuthenticationError) as caught:
        TelnyxClient(key, BASE_URL)

    assert API_KEY not in str(caught.value)
    assert caught.value.hint


def test_the_key_appears_in_no_error_message() -> None:
    account = FakeAccount(groups=1)
    client = account.client(max_retries=1)

    def read() -> object:
        return client.get(GROUPS)

    def create() -> object:
        return client.create(GROUPS, {"name": "sales"}, what="creating sales", recover=lambda: None)

    failures: list[tuple[Fault, Callable[[], object]]] = [
        *((Fault("GET", status), read) for status in (400, 401, 403, 404, 422, 429, 500, 503)),
        (Fault("GET", raises=httpx.ConnectError), read),
        (Fault("GET", raises=httpx.ReadTimeout), read),
        (Fault("POST", 409), create),
        (Fault("POST", 503), create),
        (Fault("POST", raises=httpx.ReadTimeout), create),
    ]
    messages = []
    for fault, call in failures:
        account.faults = [fault] * 10
        messages.append(str(raised(call)))

    assert len(messages) == 13
    assert [message for message in messages if API_KEY in message or API_KEY[3:] in message] == []
