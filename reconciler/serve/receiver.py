"""The running receiver: what a verified delivery does, the decision workers, the catch-up loop and the
config watcher, and the health they add up to.

`accept()` is called once a delivery's signature has been checked. It reads the event (its shape checked:
an unreadable one is refused), records its id (a duplicate stops there), and queues a decision when the
event says an order is pending; the webhook is answered at once, the decision runs on a worker.

The catch-up runs at start and then every `catch_up_seconds`: it reads the status events since the cursor
(or, the first time, since the longest answer window: older orders are answered by themselves anyway),
records them, and decides every pending order. Every loop here waits on the stop event, so `stop()` ends
them all; workers finish the decision they are in.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from reconciler import portouts
from reconciler.api import Api
from reconciler.errors import ReconcilerError

from .config import LiveConfig
from .decide import PENDING, Decider, Trigger
from .memory import Memory

log = logging.getLogger(__name__)
STATUS_CHANGED = "portout.status_changed"
FIRST_LOOK_BACK = timedelta(hours=48)  # the longest window before an unanswered order is authorized by itself
WATCH_SECONDS = 2.0
MAX_TEXT = 100  # characters of an id or a time in an event
WORKERS = 4
MAX_QUEUED = 1_000  # decisions waiting for a worker; beyond, an event is recorded and left to the next catch-up
STOP_SECONDS = 30.0


class Unreadable(ValueError):
    """A signed delivery that is not a port-out event this receiver can read."""


@dataclass(frozen=True)
class Event:
    id: str
    event_type: str
    created_at: str | None
    portout_id: str | None
    status: str | None


def read_event(document: Any) -> Event:
    """The parts of a delivered event the receiver uses, each checked."""
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        raise Unreadable("no `data` object")
    payload = data["payload"] if isinstance(data.get("payload"), dict) else {}
    fields: dict[str, str | None] = {}
    for name, value in (("id", data.get("id")), ("event_type", data.get("event_type")),
                        ("created_at", data.get("created_at")), ("portout_id", data.get("portout_id") or payload.get("id")),
                        ("status", payload.get("status"))):
        if value is not None and not (isinstance(value, str) and 0 < len(value) <= MAX_TEXT):
            raise Unreadable(f"`{name}` is not a short string")
        fields[name] = value
    event_id, event_type = fields.pop("id"), fields.pop("event_type")
    if not event_id or not event_type:
        raise Unreadable("an event needs an `id` and an `event_type`")
    return Event(event_id, event_type, **fields)


class Receiver:
    def __init__(self, api: Api, config: LiveConfig, memory: Memory, *, catch_up_seconds: float = 300.0,
                 notify_url: str | None = None) -> None:
        self.api, self.config, self.memory = api, config, memory
        self.catch_up_seconds = catch_up_seconds
        self.decider = Decider(api, config, memory, notify_url)
        self.catch_up_status: dict[str, Any] = {"ok": None, "at": None, "error": None}
        self._stop = threading.Event()
        self._hup = threading.Event()
        self._workers = ThreadPoolExecutor(WORKERS, thread_name_prefix="portout-decide")
        self._queued = threading.BoundedSemaphore(MAX_QUEUED)
        self._threads = [threading.Thread(target=self._catch_up_loop, name="portout-catch-up", daemon=True),
                         threading.Thread(target=self._watch_config, name="config-watch", daemon=True)]

    # -- life --------------------------------------------------------------------------------------
    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(STOP_SECONDS)
        self._workers.shutdown(wait=True, cancel_futures=True)

    def reload_requested(self) -> None:
        """SIGHUP: reload the config on the watcher thread (a signal handler does no more than this)."""
        self._hup.set()

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "catch_up": dict(self.catch_up_status), "cursor": self.memory.cursor,
                "config": {"loaded_at": self.config.loaded_at, "reload_error": self.config.last_error}}

    # -- a delivery --------------------------------------------------------------------------------
    def accept(self, document: Any) -> str:
        """Record a verified delivery and queue its decision: "accepted", "duplicate", "ignored" or "deferred"
        (too many decisions waiting: the next catch-up decides the order)."""
        event = read_event(document)
        if not self.memory.first_sight(event.id, event.created_at):
            return "duplicate"
        if event.event_type != STATUS_CHANGED or event.status != PENDING or not event.portout_id:
            return "ignored"  # an order answered, ported or rejected needs nothing; statuses never go back
        if not self._queued.acquire(blocking=False):
            log.warning("%d decisions waiting: port-out %s is left to the next catch-up", MAX_QUEUED, event.portout_id)
            return "deferred"
        trigger = Trigger("webhook", event.id, event.created_at)
        self._workers.submit(self._decide_queued, event.portout_id, trigger)
        return "accepted"

    def _decide_queued(self, order_id: str, trigger: Trigger) -> None:
        try:
            self._guarded(self.decider.decide_event, order_id, trigger)
        finally:
            self._queued.release()

    @staticmethod
    def _guarded(work: Any, *args: Any) -> None:
        try:
            work(*args)
        except Exception:
            log.exception("a port-out decision failed")  # a bug in one decision must not stop the worker

    # -- catch-up ----------------------------------------------------------------------------------
    def catch_up(self) -> None:
        """Read the events since the cursor, then decide every pending order."""
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            since = self.memory.cursor or _iso(datetime.now(timezone.utc) - FIRST_LOOK_BACK)
            listed = portouts.list_events(self.api, {"event_type": STATUS_CHANGED, "created_at": {"gte": since}})
            events = [read_event({"data": raw}) for raw in listed]
            self.memory.remember((event.id, event.created_at) for event in events)
            self.decider.decide_pending(portouts.pending_portouts(self.api), Trigger("catch-up"))
        except (ReconcilerError, Unreadable) as exc:
            self.catch_up_status = {"ok": False, "at": started, "error": str(exc).splitlines()[0]}
            log.warning("catch-up failed: %s", self.catch_up_status["error"])
            return
        self.catch_up_status = {"ok": True, "at": started, "error": None}

    def _catch_up_loop(self) -> None:
        while not self._stop.is_set():
            self._guarded(self.catch_up)
            self._stop.wait(self.catch_up_seconds)

    def _watch_config(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            if self._hup.is_set() or self.config.changed():
                self._hup.clear()
                self.config.reload()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
