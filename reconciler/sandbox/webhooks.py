"""Signed webhook delivery of port-out events, as Telnyx sends them (`sandbox --webhook-url URL`).

When delivery is attached (`attach()`), every `portout.status_changed` event the port-out orders make
(an order opened by another carrier, every status change) is queued and POSTed to the URL by one
background thread, off the request path. Each delivery is signed with Ed25519 over
`"{telnyx-timestamp}|{raw body}"` (headers `telnyx-signature-ed25519`, base64, and `telnyx-timestamp`, Unix
seconds), as BEHAVIOUR.md "Port-outs" describes. The body is `{"data": event, "meta": {...}}`: `data` is the
spec's `WebhookPortoutStatusChanged` with its payload complete.

Faults for tests: `drop_rate` loses a share of deliveries, `duplicate_rate` sends a share twice. A failed
delivery (no answer, or not 2xx) is retried a few times with a growing pause, then given up. The queue is
bounded; whoever attached the sender stops it with `close()`. Timing, retries, the envelope and the
queue bound are assumed (docs/sandbox-behaviour.md).
"""

from __future__ import annotations

import base64
import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .store import Record

if TYPE_CHECKING:
    from .app import Sandbox

log = logging.getLogger(__name__)
QUEUE_LIMIT = 10_000  # events waiting for delivery; beyond, an event is not delivered (and logged)
RETRY_PAUSES = (0.5, 1.0, 2.0)  # seconds before each new attempt of a failed delivery
SEND_TIMEOUT = 5.0
STOP_TIMEOUT = 5.0
ANNOUNCED = "portout.status_changed"


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def load_private_key(text: str) -> Ed25519PrivateKey:
    """A private key given as the base64 of its 32 raw bytes."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except ValueError:
        raise ValueError("the webhook signing key must be the base64 of a 32-byte Ed25519 private key") from None


def key_text(key: Ed25519PrivateKey, public: bool = True) -> str:
    """The base64 of the raw public key (what TELNYX_PUBLIC_KEY holds), or of the private key."""
    raw = serialization.Encoding.Raw
    if public:
        return base64.b64encode(key.public_key().public_bytes(raw, serialization.PublicFormat.Raw)).decode()
    return base64.b64encode(key.private_bytes(raw, serialization.PrivateFormat.Raw,
                                              serialization.NoEncryption())).decode()


def event_body(event: Record, attempt: int, url: str) -> dict[str, Any]:
    """The delivered document: the event as the events API shows it once complete, in Telnyx's envelope."""
    data = {key: event[key] for key in ("id", "record_type", "event_type", "portout_id",
                                        "available_notification_methods", "created_at")}
    data.update(payload_status="completed", payload=dict(event["_payload"]), updated_at=event["created_at"])
    return {"data": data, "meta": {"attempt": attempt, "delivered_to": url}}


@dataclass
class Delivery:
    """One POST made: the event, the attempt, and the answer's status (0: no answer)."""

    event_id: str
    attempt: int
    status: int


@dataclass
class WebhookSender:
    url: str
    key: Ed25519PrivateKey
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    random_seed: int | None = None
    clock: Callable[[], float] = time.time
    deliveries: list[Delivery] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # event ids lost on purpose (drop_rate) or for room

    def __post_init__(self) -> None:
        self._queue: queue.Queue[Record | None] = queue.Queue(QUEUE_LIMIT)
        self._random = random.Random(self.random_seed)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=SEND_TIMEOUT)
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    @property
    def public_key(self) -> str:
        return key_text(self.key)

    def sign(self, body: bytes, timestamp: int) -> dict[str, str]:
        signature = self.key.sign(f"{timestamp}|".encode() + body)
        return {"telnyx-signature-ed25519": base64.b64encode(signature).decode(),
                "telnyx-timestamp": str(timestamp), "content-type": "application/json"}

    def announce(self, event: Record) -> None:
        """Queue an event made by a port-out order (called under the sandbox's state lock: never blocks)."""
        if event.get("event_type") != ANNOUNCED:
            return
        try:
            self._queue.put_nowait(dict(event))
        except queue.Full:
            log.warning("webhook queue full (%d events): event %s not delivered", QUEUE_LIMIT, event["id"])
            self._note_dropped(event["id"])

    def close(self) -> None:
        """Stop after the event being sent; events still queued are not delivered."""
        self._stop.set()
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        self._thread.join(STOP_TIMEOUT)
        self._http.close()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Whether every queued event was handled within `timeout` seconds (tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def _run(self) -> None:
        while not self._stop.is_set():
            event = self._queue.get()
            try:
                if event is not None:
                    self._deliver(event)
            finally:
                self._queue.task_done()

    def _deliver(self, event: Record) -> None:
        if self._random.random() < self.drop_rate:
            self._note_dropped(event["id"])
            return
        copies = 2 if self._random.random() < self.duplicate_rate else 1
        for _ in range(copies):
            self._send_with_retries(event)

    def _send_with_retries(self, event: Record) -> None:
        for attempt, pause in enumerate((0.0, *RETRY_PAUSES), start=1):
            if pause and self._stop.wait(pause):
                return
            if 200 <= self._send(event, attempt) < 300:
                return
        log.warning("webhook for event %s not accepted after %d attempts", event["id"], len(RETRY_PAUSES) + 1)

    def _send(self, event: Record, attempt: int) -> int:
        body = json.dumps(event_body(event, attempt, self.url), separators=(",", ":")).encode()
        try:
            status = self._http.post(self.url, content=body, headers=self.sign(body, int(self.clock()))).status_code
        except httpx.HTTPError as exc:
            log.info("webhook for event %s: %s", event["id"], type(exc).__name__)
            status = 0
        with self._lock:
            self.deliveries.append(Delivery(event["id"], attempt, status))
        return status

    def _note_dropped(self, event_id: str) -> None:
        with self._lock:
            self.dropped.append(event_id)


def attach(sandbox: Sandbox, sender: WebhookSender) -> WebhookSender:
    """Have the sandbox's port-out orders announce their events through `sender`."""
    sandbox.collections["portouts"].listener = sender.announce  # type: ignore[attr-defined]
    return sender
