"""Account-wide rate limiting and injected server faults.

`RateLimiter` is a token bucket: `rate` requests per second with a burst of one second's worth
(at least one request). It reports the `x-ratelimit-*` headers Telnyx sends and, when empty, the
`Retry-After` seconds until the next token.

`PageSizePolicy` is a server's own page-size rule on the lists whose spec declares no maximum page size
(`/integration_secrets`, `/v2/mobile_phone_numbers`): off by default; `cap` serves at most that many items a
page whatever was asked (and says so in `meta.page_size`), `refuse_above` answers a larger `page[size]` with
422 10015. Both are assumed: the spec says nothing of what the real API does there.

`FaultInjector` decides, per request and reproducibly for a `random_seed`, whether the request
fails with 500 or 503. On a mutating request half of the failures come after the change was
committed: the response is lost but the change happened, as with a real dropped connection.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from .errors import bad_value

MUTATING = frozenset({"POST", "PATCH", "PUT", "DELETE"})


class RateLimiter:
    def __init__(self, rate: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate_limit must be positive")
        self.rate = float(rate)
        self.capacity = max(1.0, self.rate)
        self._tokens = self.capacity
        self._monotonic = monotonic
        self._updated = monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def take(self) -> tuple[bool, dict[str, str]]:
        """Spend one token if there is one; always return the headers to send."""
        with self._lock:
            self._refill()
            allowed = self._tokens >= 1.0
            if allowed:
                self._tokens -= 1.0
            headers = self._headers()
            if not allowed:
                headers["Retry-After"] = str(max(1, math.ceil((1.0 - self._tokens) / self.rate)))
            return allowed, headers

    def peek(self) -> dict[str, str]:
        with self._lock:
            self._refill()
            return self._headers()

    def _headers(self) -> dict[str, str]:
        reset = math.ceil((self.capacity - self._tokens) / self.rate) if self._tokens < self.capacity else 0
        return {
            "x-ratelimit-limit": str(int(self.capacity)),
            "x-ratelimit-remaining": str(int(math.floor(self._tokens))),
            "x-ratelimit-reset": str(reset),
        }


@dataclass(frozen=True)
class PageSizePolicy:
    cap: int | None = None
    refuse_above: int | None = None

    def __post_init__(self) -> None:
        if any(v is not None and v < 1 for v in (self.cap, self.refuse_above)):
            raise ValueError("page size limits must be at least 1")

    @property
    def active(self) -> bool:
        return self.cap is not None or self.refuse_above is not None

    def apply(self, query: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """The query with `page[size]` held to the cap; a size above `refuse_above` is refused."""
        adjusted = []
        for key, value in query:
            if key == "page[size]" and value.isascii() and value.isdigit():
                if self.refuse_above is not None and int(value) > self.refuse_above:
                    raise bad_value(f"The 'page[size]' parameter must be less than or equal to {self.refuse_above}.",
                                    parameter="page[size]")
                if self.cap is not None:
                    value = str(min(int(value), self.cap))
            adjusted.append((key, value))
        if self.cap is not None and not any(key == "page[size]" for key, _ in query):
            adjusted.append(("page[size]", str(self.cap)))
        return adjusted


@dataclass(frozen=True)
class Fault:
    status: int
    after_commit: bool


class FaultInjector:
    def __init__(self, fail_rate: float, random_seed: int) -> None:
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")
        self.fail_rate = fail_rate
        self._rng = random.Random(f"faults:{random_seed}")
        self._lock = threading.Lock()

    def roll(self, method: str) -> Fault | None:
        if self.fail_rate <= 0.0:
            return None
        with self._lock:
            if self._rng.random() >= self.fail_rate:
                return None
            status = self._rng.choice((500, 503))
            after = method.upper() in MUTATING and self._rng.random() < 0.5
            return Fault(status, after)
