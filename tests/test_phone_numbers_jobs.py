"""Background jobs for phone numbers, run through the client against the sandbox: the API's limit on
unfinished jobs is kept, and polling stays within a few requests per job."""

from __future__ import annotations

from reconciler.client import TelnyxClient
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
