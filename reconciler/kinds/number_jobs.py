"""Telnyx background jobs for phone numbers: submit in chunks of at most 1,000 numbers, poll until done.

Each request sets one value for all its numbers; a job's answer names the numbers that succeeded and,
for each that failed, why. At most as many jobs of a type are unfinished at once as the API allows; the
others are submitted as those finish. Jobs started elsewhere count towards the API's limit too: when it
refuses a job for that, the job waits (for one of the tool's own to finish, else a back-off) and is
submitted again. Polling waits until the job's own estimate of completion (`etc`)
before the first look, then backs off; when several jobs are due, one list call reads up to 250 at once.
Submitting a job is not idempotent in the API's sense, but every job this tool sends sets values, so a
retried submission has the same effect as one.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler import retry
from reconciler.api import Api
from reconciler.errors import ApiError, ReconcilerError, UnprocessableError

log = logging.getLogger("reconciler.jobs")
MAX_NUMBERS_PER_JOB = 1000
JOBS_PATH = "/phone_numbers/jobs"
MESSAGING_BULK_PATH = "/messaging_numbers_bulk_updates"
MIN_FIRST_WAIT = 0.1
GATHER = 0.5  # seconds: jobs due this soon are polled along with the one that is due
GIVE_UP_AFTER = 3600.0
LIST_POLL_FROM = 3  # jobs due for a look from which one list call is cheaper than one GET per job
# Unfinished jobs the API allows at once, per type (more are refused): the rest wait their turn.
MAX_UNFINISHED = {"update_phone_numbers": 20, "delete_phone_numbers": 20, "update_emergency_settings": 500}


@dataclass(frozen=True)
class JobRequest:
    """One value to set on many numbers: `endpoint` is update_phone_numbers, update_emergency_settings, ..."""

    endpoint: str
    body: dict[str, Any]
    numbers: list[str]

    def chunks(self) -> list[dict[str, Any]]:
        return [
            {**self.body, "phone_numbers": self.numbers[i : i + MAX_NUMBERS_PER_JOB]}
            for i in range(0, len(self.numbers), MAX_NUMBERS_PER_JOB)
        ]


@dataclass
class JobOutcome:
    succeeded: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)
    jobs: int = 0
    polls: int = 0


@dataclass
class _Running:
    id: str
    type: str
    numbers: list[str]
    next_look: float
    wait: float = retry.FIRST_DELAY  # after the job's estimate has passed, the first wait of the back-off

    def look_again(self, at: float) -> None:
        self.next_look = at + self.wait
        self.wait = retry.doubled(self.wait)


def group_requests(endpoint: str, wanted: dict[str, dict[str, Any]]) -> list[JobRequest]:
    """Numbers -> body, grouped so that every distinct body is one request (in a stable order)."""
    groups: dict[str, list[str]] = {}
    bodies: dict[str, dict[str, Any]] = {}
    for number, body in wanted.items():
        canonical = json.dumps(body, sort_keys=True)
        groups.setdefault(canonical, []).append(number)
        bodies[canonical] = body
    return [JobRequest(endpoint, bodies[c], sorted(numbers)) for c, numbers in sorted(groups.items())]


def set_values(
    api: Api, wanted: dict[str, dict[str, dict[str, Any]]], on_progress: Callable[[int, int], None] | None = None,
) -> JobOutcome:
    """For each job endpoint, numbers -> the body to set on each: grouped so that every distinct body is one
    request, and run (run_jobs)."""
    return run_jobs(api, [r for endpoint, bodies in wanted.items() for r in group_requests(endpoint, bodies)], on_progress)


def run_jobs(
    api: Api,
    requests: list[JobRequest],
    on_progress: Callable[[int, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.time,
) -> JobOutcome:
    """Submit every request (no more unfinished jobs of a type at once than the API allows), wait for every
    job, and say which numbers succeeded and which failed."""
    outcome = JobOutcome()
    # A number may be in several requests (its settings and its emergency address): it is done, and counted
    # once, when its last job finishes; progress is reported only when that count moves.
    jobs_left = Counter(n for r in requests for n in r.numbers)
    total, complete = len(jobs_left), 0
    queue = _Submissions(deque((r.endpoint, body) for r in requests for body in r.chunks()))
    running: dict[str, _Running] = {}
    deadline = now() + GIVE_UP_AFTER
    queue.submit(api, running, outcome, now())
    while running or queue.waiting:
        sleep(max(0.0, min([job.next_look for job in running.values()] + [queue.next_try()]) - now()))
        for job in _poll(api, running, outcome, now()):
            finished = running.pop(job["id"])
            _record(job, finished, outcome)
            queue.freed(finished.type)
            before = complete
            for number in finished.numbers:
                jobs_left[number] -= 1
                complete += jobs_left[number] == 0
            if on_progress is not None and complete > before:
                on_progress(complete, total)
        queue.submit(api, running, outcome, now())
        if now() > deadline and (running or queue.waiting):
            raise ReconcilerError(
                f"{len(running) + len(queue.waiting)} phone number job(s) did not finish within {GIVE_UP_AFTER / 60:.0f} minutes",
                "They may still complete; run `plan` later to see what is left.",
            )
    return outcome


class _Submissions:
    """Jobs waiting to be submitted, in order. A type waits while the tool's own unfinished jobs of it are
    at the API's limit, and after the API refuses one for too many unfinished jobs (jobs started in the
    portal or by other tools count too): until one of the tool's jobs of that type finishes, or a
    back-off has passed. Any other refusal fails that job's numbers; an error that is not a refusal
    stops submitting (the rest fail as not submitted) while the jobs already running are watched to the end."""

    def __init__(self, waiting: deque[tuple[str, dict[str, Any]]]) -> None:
        self.waiting = waiting
        self._retry_at: dict[str, float] = {}
        self._backoff: dict[str, float] = {}

    def next_try(self) -> float:
        """When the first waiting job may be tried again (infinity when only a finishing job can free room)."""
        if not self.waiting:
            return math.inf
        return self._retry_at.get(self.waiting[0][0], math.inf)

    def freed(self, endpoint: str) -> None:
        self._retry_at.pop(endpoint, None)
        self._backoff.pop(endpoint, None)

    def submit(self, api: Api, running: dict[str, _Running], outcome: JobOutcome, at: float) -> None:
        while self.waiting:
            endpoint, body = self.waiting[0]
            mine = sum(1 for job in running.values() if job.type == endpoint)
            if mine >= MAX_UNFINISHED[endpoint] or self._retry_at.get(endpoint, 0.0) > at:
                return
            try:
                job = api.post(f"{JOBS_PATH}/{endpoint}", body, what=f"submitting a {endpoint} job")
            except UnprocessableError as exc:
                if not _too_many_jobs(exc):
                    self.waiting.popleft()
                    outcome.failed.update({n: exc.message for n in body["phone_numbers"]})
                    continue
                self._wait_for_room(endpoint, at, mine)
                return
            except ApiError as exc:
                self._stop(exc, outcome)
                return
            self.waiting.popleft()
            self.freed(endpoint)
            _start(job, endpoint, body, running, outcome, at)

    def _wait_for_room(self, endpoint: str, at: float, mine: int) -> None:
        """Too many unfinished jobs: the next try is when one of the tool's own finishes, or, with none
        running, after a back-off (the others' jobs finish on their own)."""
        log.info("%s: the account has as many unfinished jobs as the API allows; waiting for room", endpoint)
        if mine:
            self._retry_at[endpoint] = math.inf
            return
        wait = self._backoff.get(endpoint, retry.FIRST_DELAY)
        self._retry_at[endpoint] = at + wait
        self._backoff[endpoint] = retry.doubled(wait)

    def _stop(self, error: ApiError, outcome: JobOutcome) -> None:
        outcome.failed.update({n: error.message for n in self.waiting.popleft()[1]["phone_numbers"]})
        for _, body in self.waiting:
            outcome.failed.update({n: f"not submitted after an earlier error: {error.message}"
                                   for n in body["phone_numbers"]})
        self.waiting.clear()


def _too_many_jobs(error: UnprocessableError) -> bool:
    """The API's refusal for too many pending or in-progress jobs (the spec's examples word it so)."""
    return any("pending or in progress job" in p.detail.lower() for p in error.problems)


def _start(job: dict[str, Any], endpoint: str, body: dict[str, Any], running: dict[str, _Running],
           outcome: JobOutcome, at: float) -> None:
    etc = _epoch(job.get("etc"), at)
    # The first look is when the job itself expects to be done; a clock far off is not trusted.
    first = at + min(max(etc - at, MIN_FIRST_WAIT), GIVE_UP_AFTER)
    running[job["id"]] = _Running(job["id"], endpoint, body["phone_numbers"], first)
    outcome.jobs += 1


def run_messaging_updates(
    api: Api, profiles: dict[str, str], sleep: Callable[[float], None] = time.sleep
) -> dict[str, str]:
    """Move numbers between messaging profiles with bulk updates; the numbers that failed, with why."""
    orders: dict[str, dict[str, Any]] = {}
    for request in group_requests("messaging", {n: {"messaging_profile_id": p} for n, p in profiles.items()}):
        for start in range(0, len(request.numbers), MAX_NUMBERS_PER_JOB):
            numbers = request.numbers[start : start + MAX_NUMBERS_PER_JOB]
            # assign_only: without it the API also changes the numbers' other messaging settings.
            body = {"messaging_profile_id": request.body["messaging_profile_id"], "numbers": numbers,
                    "assign_only": True}
            order = api.post(MESSAGING_BULK_PATH, body, what="submitting a messaging profile bulk update")
            orders[order["order_id"]] = order
    return _wait_for_orders(api, orders, sleep)


def _wait_for_orders(api: Api, orders: dict[str, dict[str, Any]], sleep: Callable[[float], None]) -> dict[str, str]:
    """Poll every unfinished order, backing off, until all are done (the API gives no completion estimate)."""
    waited = 0.0
    for wait in retry.delays():
        if waited >= GIVE_UP_AFTER or not any(o.get("pending") for o in orders.values()):
            break
        sleep(wait)
        waited += wait
        for order_id in [i for i, o in orders.items() if o.get("pending")]:
            orders[order_id] = api.get(f"{MESSAGING_BULK_PATH}/{order_id}", what="polling a messaging bulk update")["data"]
    failed: dict[str, str] = {}
    for order in orders.values():
        failed.update({n: "the messaging profile could not be set" for n in order.get("failed") or []})
        failed.update({n: "the messaging bulk update did not finish" for n in order.get("pending") or []})
    return failed


def _poll(api: Api, running: dict[str, _Running], outcome: JobOutcome, at: float) -> list[dict[str, Any]]:
    """The jobs due for a look that have finished; the others are looked at again later, backing off."""
    # Jobs about to be due are looked at too: one list call then serves a whole burst of submissions.
    due = {i: job for i, job in running.items() if job.next_look <= at + GATHER}
    seen: dict[str, dict[str, Any]] = {}
    if len(due) >= LIST_POLL_FROM:
        for job_type in sorted({job.type for job in due.values()}):
            listed = api.get(JOBS_PATH, {"filter[type]": job_type, "page[size]": 250}, what="polling phone number jobs")
            outcome.polls += 1
            seen.update({job["id"]: job for job in listed.get("data") or [] if job.get("id") in due})
    for job_id in [j for j in due if j not in seen]:
        seen[job_id] = api.get(f"{JOBS_PATH}/{job_id}", what=f"polling phone number job {job_id}")["data"]
        outcome.polls += 1
    finished = [job for job in seen.values() if job.get("status") not in ("pending", "in_progress")]
    for job_id in set(due) - {job["id"] for job in finished}:
        due[job_id].look_again(at)
    return finished


def _record(job: dict[str, Any], running: _Running, outcome: JobOutcome) -> None:
    for item in job.get("successful_operations") or []:
        outcome.succeeded.add(str(item.get("phone_number")))
    for item in job.get("failed_operations") or []:
        outcome.failed[str(item.get("phone_number"))] = _reason(item.get("errors") or [])
    if job.get("status") in ("failed", "expired"):
        for number in running.numbers:
            if number not in outcome.succeeded:
                outcome.failed.setdefault(number, f"the job {job['status']}")


def _reason(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors:
        text = str(error.get("detail") or error.get("title") or "failed")
        parts.append(f"{text} [code {error['code']}]" if error.get("code") else text)
    return "; ".join(parts) or "failed (no reason given)"


def _epoch(text: str | None, fallback: float) -> float:
    if not text:
        return fallback
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return fallback
