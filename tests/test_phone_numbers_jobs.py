"""Background jobs for phone numbers, run through the client against the sandbox: the API's limit on
unfinished jobs is kept, and polling stays within a few requests per job."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, cast

import httpx
import pytest

from reconciler.client import TelnyxClient
from reconciler.errors import ApiProblem, ServerError
from reconciler.kinds.number_jobs import MAX_UNFINISHED, JobRequest, group_requests, run_jobs
from reconciler.sandbox import Sandbox, generate_account


def test_more_jobs_than_the_api_lets_run_at_once_are_queued_and_all_finish() -> None:
    sandbox = Sandbox(seed=generate_account(40, seed=4), job_seconds=0.05, job_seconds_per_number=0.0)
    targets = [n["phone_number"] for n in sandbox.state.all("phone_numbers") if n.get("status", "active") == "active"][:30]
    requests = group_requests("update_phone_numbers", {n: {"customer_reference": f"ref-{i}"} for i, n in enumerate(targets)})
    assert len(requests) == 30 > MAX_UNFINISHED["update_phone_numbers"]
    progress: list[int] = []
    with TelnyxClient("sandbox-key", "http://sandbox.local/v2", transport=sandbox.transport()) as client:
        outcome = run_jobs(client, requests, lambda done, total: progress.append(done))
    assert outcome.jobs == 30 and outcome.failed == {} and outcome.succeeded == set(targets)
    assert outcome.polls <= 3 * outcome.jobs
    assert progress == sorted(progress) and progress[-1] == 30
    stored = {n["phone_number"]: n.get("customer_reference") for n in sandbox.state.all("phone_numbers")}
    assert all(stored[n] == f"ref-{i}" for i, n in enumerate(targets))


def test_a_job_of_more_than_1000_numbers_is_split_and_each_failure_is_named() -> None:
    sandbox = Sandbox(seed=generate_account(2_500, seed=4), job_seconds=0.05, job_seconds_per_number=0.00001)
    every = [n["phone_number"] for n in sandbox.state.all("phone_numbers")]
    inactive = {n["phone_number"] for n in sandbox.state.all("phone_numbers") if n.get("status", "active") != "active"}
    with TelnyxClient("sandbox-key", "http://sandbox.local/v2", transport=sandbox.transport()) as client:
        outcome = run_jobs(client, [JobRequest("update_phone_numbers", {"tags": ["one"]}, every)])
    assert outcome.jobs == 3 and outcome.polls <= 9
    assert set(outcome.failed) == inactive and len(inactive) > 10
    assert all("only active numbers can be changed" in why and "[code 10015]" in why for why in outcome.failed.values())
    assert outcome.succeeded == set(every) - inactive


def jobs_from_another_client(sandbox: Sandbox, endpoint: str, count: int) -> list[str]:
    """`count` unfinished jobs of `endpoint` started elsewhere (the portal, another tool), one number each;
    the numbers they use."""
    targets = active_numbers(sandbox)[-count:]
    address = sandbox.state.all("addresses")[0]["id"]
    extra = {"update_phone_numbers": {"customer_reference": "elsewhere"},
             "update_emergency_settings": {"emergency_enabled": True, "emergency_address_id": address}}[endpoint]
    with httpx.Client(transport=sandbox.transport(), base_url="http://sandbox.local/v2",
                      headers={"Authorization": "Bearer sandbox-key"}) as other:
        for number in targets:
            response = other.post(f"/phone_numbers/jobs/{endpoint}", json={"phone_numbers": [number], **extra})
            assert response.status_code == 202, response.text
    return targets


def active_numbers(sandbox: Sandbox) -> list[str]:
    return [n["phone_number"] for n in sandbox.state.all("phone_numbers") if n.get("status", "active") == "active"]


class Clock:
    """The sandbox's clock, moved only by the waits of the code under test."""

    def __init__(self) -> None:
        self.at = datetime(2024, 5, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.at

    def now(self) -> float:
        return self.at.timestamp()

    def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.mark.parametrize("endpoint", ["update_phone_numbers", "update_emergency_settings"])
def test_jobs_started_elsewhere_count_and_a_refusal_for_too_many_waits_and_submits_again(endpoint: str) -> None:
    limit, clock = MAX_UNFINISHED[endpoint], Clock()
    sandbox = Sandbox(seed=generate_account(limit + 20, seed=4), clock=clock, job_seconds=5, job_seconds_per_number=0)
    theirs = jobs_from_another_client(sandbox, endpoint, limit)
    mine = [n for n in active_numbers(sandbox) if n not in theirs][:3]
    address = sandbox.state.all("addresses")[-1]["id"]
    body = {"update_phone_numbers": {"customer_reference": "mine"},
            "update_emergency_settings": {"emergency_enabled": True, "emergency_address_id": address}}[endpoint]
    requests = [JobRequest(endpoint, body, [n]) for n in mine]
    with TelnyxClient("sandbox-key", "http://sandbox.local/v2", transport=sandbox.transport()) as client:
        outcome = run_jobs(client, requests, sleep=clock.sleep, now=clock.now)
    refused = [r for r in sandbox.requests if r.path.endswith(endpoint) and r.status == 422]
    assert 1 < len(refused) < 10  # refused while the others ran, tried again after a back-off
    assert outcome.failed == {} and outcome.succeeded == set(mine) and outcome.jobs == 3
    stored = {n["phone_number"]: n for n in sandbox.state.all("phone_numbers")}
    key, value = next(iter(body.items()))
    assert all(stored[n].get(key) == value for n in mine)


class FailingOnSecondSubmit:
    """The client, but the API fails the second job submitted (after retries), as an outage would."""

    def __init__(self, client: TelnyxClient) -> None:
        self.client, self.submitted = client, 0

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self.client.get(*args, **kwargs)

    def post(self, path: str, body: dict[str, Any], *, what: str = "") -> dict[str, Any]:
        self.submitted += 1
        if self.submitted == 2:
            raise ServerError(503, what, [ApiProblem("10007", "Unexpected error")])
        return self.client.post(path, body, what=what)


def test_jobs_already_submitted_are_watched_to_the_end_when_submitting_stops() -> None:
    sandbox = Sandbox(seed=generate_account(20, seed=4), job_seconds=0.1, job_seconds_per_number=0.0)
    numbers = active_numbers(sandbox)[:4]
    requests = [JobRequest("update_phone_numbers", {"customer_reference": f"r{i}"}, [n]) for i, n in enumerate(numbers)]
    with TelnyxClient("sandbox-key", "http://sandbox.local/v2", transport=sandbox.transport()) as client:
        outcome = run_jobs(cast(Any, FailingOnSecondSubmit(client)), requests)
    assert outcome.succeeded == {numbers[0]} and outcome.jobs == 1
    assert "HTTP 503" in outcome.failed[numbers[1]]
    assert all(outcome.failed[n].startswith("not submitted after an earlier error") for n in numbers[2:])
    stored = {n["phone_number"]: n for n in sandbox.state.all("phone_numbers")}
    assert stored[numbers[0]].get("customer_reference") == "r0"  # the running job was polled until it finished


def test_a_job_the_api_refuses_fails_its_numbers_and_the_others_still_run() -> None:
    sandbox = Sandbox(seed=generate_account(20, seed=4), job_seconds=0.05, job_seconds_per_number=0.0)
    numbers = active_numbers(sandbox)[:2]
    requests = [JobRequest("update_phone_numbers", {"tags": ["a"]}, [numbers[0], "+19995550000"]),
                JobRequest("update_phone_numbers", {"tags": ["b"]}, [numbers[1]])]
    with TelnyxClient("sandbox-key", "http://sandbox.local/v2", transport=sandbox.transport()) as client:
        outcome = run_jobs(client, requests)
    assert outcome.succeeded == {numbers[1]}
    assert set(outcome.failed) == {numbers[0], "+19995550000"}
    assert "You must own every number" in outcome.failed[numbers[0]]
