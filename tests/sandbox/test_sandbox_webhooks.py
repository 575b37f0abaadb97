"""Signed webhook delivery: an order opened by another carrier, then answered, is announced to a receiver on
loopback as Telnyx does: signed with Ed25519 over "{timestamp}|{body}", shaped as the spec's port-out event.
Dropped and duplicated deliveries and retries are there to make a receiver's faults testable."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from inbox import Inbox, loopback_inbox
from sandbox_support import KEY, client_for

from reconciler.cli import cli
from reconciler.sandbox import Sandbox
from reconciler.sandbox.spec import load_spec
from reconciler.sandbox.webhooks import (
    WebhookSender,
    attach,
    key_text,
    load_private_key,
    new_private_key,
)

NUMBER = "+13125550101"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with loopback_inbox("/webhooks/telnyx") as box:
        yield box


def _sandbox_sending(inbox: Inbox, **faults: Any) -> tuple[Sandbox, WebhookSender]:
    sandbox = Sandbox(seed={"phone_numbers": [{"phone_number": NUMBER}]})
    return sandbox, attach(sandbox, WebhookSender(inbox.url, new_private_key(), random_seed=1, **faults))


def _open_order(sandbox: Sandbox) -> str:
    return str(sandbox.add("portouts", {"phone_numbers": [NUMBER], "carrier_name": "Rival Mobile",
                                        "spid": "987H", "support_key": "SK-1"})["id"])


def test_opened_and_answered_orders_are_delivered_signed_in_the_spec_shape(inbox: Inbox) -> None:
    sandbox, sender = _sandbox_sending(inbox)
    try:
        order = _open_order(sandbox)
        with client_for(sandbox) as api:
            assert api.patch(f"/portouts/{order}/authorized", json={"reason": "ok"}).status_code == 200
        assert sender.wait_idle()
    finally:
        sender.close()
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(sender.public_key))
    validator = load_spec().validator("/components/schemas/WebhookPortoutStatusChanged")
    for headers, body in inbox.received:
        public.verify(base64.b64decode(headers["telnyx-signature-ed25519"]),
                      headers["telnyx-timestamp"].encode() + b"|" + body)  # raises if the signature is wrong
    events = [b["data"] for b in inbox.bodies()]
    for event in events:
        assert not list(validator.iter_errors(event))
    assert [(e["portout_id"], e["payload"]["status"]) for e in events] == [(order, "pending"), (order, "authorized")]
    assert {e["id"] for e in events} == {e["id"] for e in sandbox.state.all("portout_events")}


def _one_order_delivered(inbox: Inbox, **faults: Any) -> WebhookSender:
    sandbox, sender = _sandbox_sending(inbox, **faults)
    try:
        _open_order(sandbox)
        assert sender.wait_idle()
    finally:
        sender.close()
    return sender


def test_dropped_and_duplicated_deliveries(inbox: Inbox) -> None:
    sender = _one_order_delivered(inbox, drop_rate=1.0)
    assert inbox.received == [] and len(sender.dropped) == 1
    _one_order_delivered(inbox, duplicate_rate=1.0)
    [first, second] = inbox.bodies()
    assert first["data"]["id"] == second["data"]["id"]


def test_a_refused_delivery_is_retried(inbox: Inbox) -> None:
    inbox.statuses = [503]
    sender = _one_order_delivered(inbox)
    assert [(d.attempt, d.status) for d in sender.deliveries] == [(1, 503), (2, 200)]
    assert [b["meta"]["attempt"] for b in inbox.bodies()] == [1, 2]


def test_seeded_orders_are_not_announced(inbox: Inbox) -> None:
    sandbox = Sandbox(seed={"portouts": [{"phone_numbers": [NUMBER]}]})
    sender = attach(sandbox, WebhookSender(inbox.url, new_private_key()))
    sender.close()
    assert inbox.received == [] and sandbox.state.all("portout_events") == []


def test_a_given_signing_key_is_used_and_a_bad_one_refused(tmp_path: Path) -> None:
    key = new_private_key()
    assert key_text(load_private_key(key_text(key, public=False))) == key_text(key)
    bad = tmp_path / "key.txt"
    bad.write_text("not base64!")
    result = _run_cli(["sandbox", "--port", "0", "--webhook-url", "http://127.0.0.1:9/hook",
                       "--webhook-key-file", str(bad)])
    assert result[0] == 1 and "32-byte Ed25519 private key" in result[1] and KEY not in result[1]


def _run_cli(args: list[str]) -> tuple[int, str]:
    from click.testing import CliRunner

    outcome = CliRunner().invoke(cli, args, catch_exceptions=False)
    return outcome.exit_code, outcome.output
