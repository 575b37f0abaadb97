"""Apply through lost answers, scripted one by one: the real CLI against the sandbox, with chosen requests
failing before or after the sandbox acts on them."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest
from support import API_KEY, EXAMPLES, served

from reconciler.sandbox import Sandbox, SandboxResponse, load_seed

CONFIG = str(EXAMPLES / "config")


@pytest.fixture(autouse=True)
def _examples_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test applies a copy of the examples: an apply writes its state file beside the config."""
    monkeypatch.setattr(sys.modules[__name__], "CONFIG", str(shutil.copytree(EXAMPLES / "config", tmp_path / "config")))
LOST = json.dumps({"errors": [{"code": "10007", "title": "Unexpected error", "detail": "An unexpected error occurred."}]})
# (method, path, a query parameter it carries or "", what happens once): "before", "after", "stale-list"
Script = list[tuple[str, str, str, str]]


def scripted(sandbox: Sandbox, script: Script) -> None:
    """Wrap the sandbox: the first request matching each line of the script fails as the line says."""
    handle = sandbox.handle

    def run(method: str, path: str, query: Sequence[tuple[str, str]], headers: Mapping[str, str], body: bytes) -> SandboxResponse:
        for line in script:
            if (line[0], line[1]) == (method, path) and (not line[2] or any(k == line[2] for k, _ in query)):
                script.remove(line)
                return _fault(line[3], handle, (method, path, query, headers, body))
        return handle(method, path, query, headers, body)

    sandbox.handle = run  # type: ignore[method-assign]


def _fault(what: str, handle: Callable[..., SandboxResponse], request: tuple) -> SandboxResponse:
    lost = SandboxResponse(503, {"content-type": "application/json"}, LOST.encode())
    if what == "before":
        return lost
    answer = handle(*request)
    if what == "after":
        return lost
    empty = {"data": [], "meta": {"page_number": 1, "page_size": 250, "total_pages": 0, "total_results": 0}}
    return SandboxResponse(answer.status, answer.headers, json.dumps(empty).encode())


def test_a_lost_create_in_a_replace_never_deletes_the_only_copy() -> None:
    # The new address's POST fails before it takes effect; the old address has the same name.
    sandbox = Sandbox(api_key=API_KEY, seed=load_seed(EXAMPLES / "sandbox-seed.yaml"))
    old = next(a for a in sandbox.state.all("addresses") if a.get("customer_reference") == "hq")
    scripted(sandbox, [("POST", "/v2/addresses", "", "before")])
    with served(sandbox, check=False) as account:
        applied = account.run("apply", CONFIG, "--auto-approve")
        assert applied.exit_code == 0, applied.output
        addresses = [a for a in sandbox.state.all("addresses") if a.get("customer_reference") == "hq"]
        assert [(a["extended_address"], a["id"] == old["id"]) for a in addresses] == [("Floor 14", False)]
        assert account.run("plan", CONFIG, "--detailed-exitcode").exit_code == 0


def test_a_duplicate_refusal_after_a_lost_create_is_resolved_by_looking_it_up() -> None:
    # The create of the access IP takes effect but its answer is lost; the lookup lags behind (an empty
    # list); the repeated create is refused as a duplicate: the resource is looked up, not reported failed.
    sandbox = Sandbox(api_key=API_KEY, seed=load_seed(EXAMPLES / "sandbox-seed.yaml"))
    scripted(sandbox, [("POST", "/v2/access_ip_address", "", "after"),
                       ("GET", "/v2/access_ip_address", "filter[ip_address]", "stale-list")])
    with served(sandbox, check=False) as account:
        applied = account.run("apply", CONFIG, "--auto-approve")
        assert applied.exit_code == 0, applied.output
        assert account.run("plan", CONFIG, "--detailed-exitcode").exit_code == 0
    ips = [a["ip_address"] for a in sandbox.state.all("access_ips")]
    assert len(ips) == len(set(ips))


@pytest.mark.parametrize("random_seed", [1, 2, 3, 4, 5])
def test_one_apply_converges_under_faults_and_the_rate_limit(random_seed: int) -> None:
    # 20% of requests fail with 5xx (half of the failed writes after the change was made), 5 requests a second
    sandbox = Sandbox(api_key=API_KEY, seed=load_seed(EXAMPLES / "sandbox-seed.yaml"), fail_rate=0.2, rate_limit=5,
                      random_seed=random_seed)
    with served(sandbox) as account:
        applied = account.run("apply", CONFIG, "--auto-approve")
        assert applied.exit_code == 0, applied.output
        again = account.plan_through_faults(CONFIG)
        assert again.exit_code == 0, again.output
    assert any(r.status >= 500 for r in sandbox.requests)
    for collection, key in (("billing_groups", "name"), ("access_ips", "ip_address"), ("addresses", "customer_reference")):
        keys = [r.get(key) for r in sandbox.state.all(collection) if r.get(key) and not r.get("deleted_at")]
        assert len(keys) == len(set(keys)), f"duplicate {collection}: {keys}"
