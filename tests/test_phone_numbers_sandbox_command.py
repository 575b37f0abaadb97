"""`telnyx-reconciler sandbox --generate-numbers N`: a served account of N numbers, the same every time."""

from __future__ import annotations

import socket

import yaml_rs
from test_cli_sandbox import run, sandbox_process


def export_of(url: str) -> str:
    result = run(url, "export")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_generated_account_is_served_and_the_same_n_gives_the_same_account() -> None:
    with sandbox_process("--generate-numbers", "300", "--generate-mobile", "5") as url:
        first = export_of(url)
    with sandbox_process("--generate-numbers", "300", "--generate-mobile", "5") as url:
        assert export_of(url) == first
    document = yaml_rs.loads(first)
    assert len(document["phone_numbers"]["entries"]) == 300 and len(document["mobile_phone_numbers"]) == 5
    assert {e.get("billing_group") for e in document["phone_numbers"]["entries"]} >= {"Engineering", "Sales", "Support"}


def test_a_taken_port_or_both_a_seed_and_a_generated_account_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = run("http://127.0.0.1:1/v2", "sandbox", "--port", port, "--generate-numbers", "10")
    assert busy.returncode == 1 and f"cannot serve on 127.0.0.1:{port}" in busy.stderr and "Traceback" not in busy.stderr
    both = run("http://127.0.0.1:1/v2", "sandbox", "--seed", "examples/sandbox-seed.yaml", "--generate-numbers", "10")
    assert both.returncode == 1 and "give --seed or --generate-numbers, not both" in both.stderr
