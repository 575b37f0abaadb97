"""`sandbox` serves the local Telnyx API; `demo` runs the whole loop against an embedded one.

The sandbox, the client and the engine are imported when one of these commands runs, never by `--help`.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler import render
from reconciler.cli.app import EXIT_OK, cli, show_progress
from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from reconciler.client import TelnyxClient
    from reconciler.plan import Plan
    from reconciler.sandbox import Sandbox
    from reconciler.state import Fingerprints
    from reconciler.states import DesiredState

SANDBOX_DEFAULT_KEY = "sandbox-key"
DEMO_BASE_URL = "http://sandbox.local/v2"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"  # the demo's config and account, found from any directory
# What the integration secrets of examples/config read with ${env:NAME}. The demo gives each a random value
# of its own, so it needs nothing set and never reads a real credential; a real run takes them from CI.
EXAMPLE_VARIABLES = ("CRM_TOKEN", "TICKETING_USER", "TICKETING_PASSWORD")
ROTATED_VARIABLE = "CRM_TOKEN"


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (keep it on loopback).")
@click.option("--port", type=click.IntRange(0, 65535), default=4010, show_default=True)
@click.option("--state", type=click.Path(dir_okay=False), help="Persist the account in this JSON file.")
@click.option("--seed", type=click.Path(exists=True, dir_okay=False), help="Seed an empty account from this YAML/JSON file.")
@click.option("--latency-ms", type=click.FloatRange(0), default=0, show_default=True, help="Added to every request.")
@click.option("--rate-limit", type=click.FloatRange(0, min_open=True), help="Requests per second before 429.")
@click.option("--fail-rate", type=click.FloatRange(0, 1), default=0, show_default=True, help="Share of requests failing with 5xx.")
@click.option("--generate-numbers", type=click.IntRange(0), help="Seed an empty account with N generated phone numbers (deterministic).")
@click.option("--generate-mobile", type=click.IntRange(0), default=0, show_default=True,
              help="Mobile numbers to generate along with --generate-numbers.")
@click.option("--job-seconds", type=click.FloatRange(0), default=1.0, show_default=True, help="Base duration of a background job.")
@click.option("--job-seconds-per-number", type=click.FloatRange(0), default=0.0005, show_default=True, help="Added per number in a job.")
@click.option("--portout-answer-hours", type=click.Choice(["24", "48"]), default="48", show_default=True,
              help="Hours after which an unanswered port-out is authorized by itself (the guide says 24 or 48).")
@click.option("--page-size-cap", type=click.IntRange(1), help="Lists without a declared maximum page size serve at most N a page.")
@click.option("--page-size-refused-above", type=click.IntRange(1),
              help="Lists without a declared maximum page size refuse a larger page[size] (422).")
@click.option("--webhook-url", help="Deliver signed portout.status_changed events to this URL (needs the `serve` extra).")
@click.option("--webhook-key-file", type=click.Path(exists=True, dir_okay=False),
              help="Sign with this Ed25519 private key (base64 of 32 bytes); a new key pair otherwise.")
@click.option("--webhook-drop-rate", type=click.FloatRange(0, 1), default=0, show_default=True, help="Share of deliveries lost.")
@click.option("--webhook-duplicate-rate", type=click.FloatRange(0, 1), default=0, show_default=True, help="Share of deliveries sent twice.")
def sandbox(
    host: str, port: int, state: str | None, seed: str | None, latency_ms: float, rate_limit: float | None, fail_rate: float,
    generate_numbers: int | None, generate_mobile: int, job_seconds: float, job_seconds_per_number: float,
    portout_answer_hours: str, page_size_cap: int | None, page_size_refused_above: int | None,
    webhook_url: str | None, webhook_key_file: str | None, webhook_drop_rate: float, webhook_duplicate_rate: float,
) -> int:
    """Serve a local, stateful Telnyx API v2 on HOST:PORT/v2 (Ctrl-C stops it).

    It accepts the API key in TELNYX_API_KEY, or `sandbox-key` when that is unset.
    """
    from reconciler.sandbox import Sandbox, serve_forever

    key = os.environ.get("TELNYX_API_KEY") or SANDBOX_DEFAULT_KEY
    with _seed_errors():
        the_sandbox = Sandbox(
            api_key=key, state_path=state, seed=_seed(seed, generate_numbers, generate_mobile),
            latency_ms=latency_ms, rate_limit=rate_limit, fail_rate=fail_rate,
            job_seconds=job_seconds, job_seconds_per_number=job_seconds_per_number,
            portout_answer_hours=float(portout_answer_hours),
            page_size_cap=page_size_cap, page_size_refused_above=page_size_refused_above,
        )
    accepted = "the key in TELNYX_API_KEY" if key != SANDBOX_DEFAULT_KEY else f"the API key {SANDBOX_DEFAULT_KEY!r}"

    def ready(url: str) -> None:
        click.echo(f"Sandbox serving {url} (accepts {accepted}). Ctrl-C to stop.", err=True)
        click.echo(f"  export TELNYX_BASE_URL={url}", err=True)

    sender = _webhooks(the_sandbox, webhook_url, webhook_key_file, webhook_drop_rate, webhook_duplicate_rate)
    try:
        serve_forever(the_sandbox, host, port, ready)
    except OSError as exc:  # the port is taken, or the address is not this machine's
        raise ReconcilerError(f"cannot serve on {host}:{port}: {exc.strerror}", "Choose another --port (0 picks a free one).") from None
    finally:
        if sender is not None:
            sender.close()
    return EXIT_OK


@contextmanager
def _seed_errors() -> Iterator[None]:
    """A seed file that cannot be read or applied is the user's to fix (exit 1), not a bug."""
    from reconciler.sandbox import SeedError

    try:
        yield
    except SeedError as exc:
        raise ReconcilerError(f"the seed is invalid: {str(exc)[:500]}",
                              "Fix the seed file; see `reconciler/sandbox/seed.py` for its format.") from None


def _webhooks(the_sandbox: Sandbox, url: str | None, key_file: str | None, drop: float, duplicate: float) -> Any:
    """Start signed webhook delivery when asked, and say which public key verifies it."""
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise click.UsageError(f"--webhook-url must be an http(s) URL, not {url!r}")
    try:
        from reconciler.sandbox import webhooks
    except ImportError:
        raise ReconcilerError("webhook delivery needs the `serve` extra", "pip install 'telnyx-reconciler[serve]'") from None
    try:
        key = webhooks.load_private_key(Path(key_file).read_text()) if key_file else webhooks.new_private_key()
    except ValueError as exc:
        raise ReconcilerError(f"{key_file}: {exc}", "Give the file the base64 of a 32-byte Ed25519 private key.") from None
    sender = webhooks.attach(the_sandbox, webhooks.WebhookSender(url, key, drop, duplicate))
    click.echo(f"Webhooks: signed portout.status_changed events go to {url}", err=True)
    click.echo(f"  export TELNYX_PUBLIC_KEY={sender.public_key}", err=True)
    return sender


def _seed(path: str | None, numbers: int | None, mobile: int) -> dict[str, Any] | None:
    """The account to start from: a seed file, or a generated account (the same N gives the same account)."""
    from reconciler.sandbox import generate_account, load_seed

    if path and numbers is not None:
        raise click.UsageError("give --seed or --generate-numbers, not both")
    if numbers is not None:
        return generate_account(numbers, mobile=mobile)
    return load_seed(path) if path else None


@cli.command()
@click.option("--config", "config_dir", type=click.Path(exists=True), help="Config to plan  [default: examples/config]")
@click.option("--seed", type=click.Path(exists=True, dir_okay=False), help="Account to start from  [default: examples/sandbox-seed.yaml]")
def demo(config_dir: str | None, seed: str | None) -> int:
    """Plan, apply, plan again, catch and undo drift, answer port-outs by policy, rotate a secret: all
    against an embedded sandbox."""
    from reconciler import pipeline
    from reconciler.client import TelnyxClient
    from reconciler.sandbox import Sandbox, load_seed
    from reconciler.state import Fingerprints, state_key

    config_dir = config_dir or _example("config")
    seed = seed or _example("sandbox-seed.yaml")
    with _seed_errors():
        the_sandbox = Sandbox(api_key=SANDBOX_DEFAULT_KEY, seed=load_seed(seed))
    environ = example_environ()
    desired = pipeline.load_desired([config_dir], environ)
    remembered = Fingerprints(None, state_key(SANDBOX_DEFAULT_KEY))  # what the tool set, kept in memory only
    with TelnyxClient(SANDBOX_DEFAULT_KEY, DEMO_BASE_URL, transport=the_sandbox.transport()) as client:
        def plan() -> Plan:
            return pipeline.plan_from_account(client, desired, fingerprints=remembered)

        _title(f"1. plan: {config_dir} against a sandbox account seeded from {seed}")
        click.echo(f"(the demo sets {', '.join(EXAMPLE_VARIABLES)}, which the config's secrets read, to random values)")
        first = plan()
        render.render(first, "text", sys.stdout)
        _title("2. apply")
        pipeline.check_plan(first, desired)
        pipeline.apply_plan(client, first, on_progress=show_progress, fingerprints=remembered)
        _title("3. plan again: nothing left to do")
        render.render(plan(), "text", sys.stdout)
        _title("4. someone renames the SSO provider in the portal; drift notices")
        _portal_edit(client)
        render.render(plan(), "text", sys.stdout, drift=True)
        _title("5. apply puts it back")
        pipeline.apply_plan(client, plan(), fingerprints=remembered)
        render.render(plan(), "text", sys.stdout, drift=True)
        _portouts(the_sandbox, client, desired, remembered)
        _rotate(client, [config_dir], environ, remembered)
        click.echo(f"\nThe demo sent {client.requests_sent} requests to the sandbox.")
    click.echo("Next: `telnyx-reconciler sandbox` serves the same API on 127.0.0.1:4010 for your own configs.")
    return EXIT_OK


def _example(name: str) -> str:
    path = EXAMPLES / name
    if not path.exists():
        raise ReconcilerError(f"the demo's {path} is missing", "Run the demo from a source checkout, or pass --config and --seed.")
    return str(path)


def _portouts(the_sandbox: Sandbox, client: TelnyxClient, desired: DesiredState, remembered: Fingerprints) -> None:
    """Other carriers ask for three numbers; the policy answers two and leaves one to a person."""
    from reconciler import pipeline

    _title("6. three port-out requests arrive from other carriers; the policy decides (portouts.yaml)")
    now = datetime.now(timezone.utc)
    for hours_ago, number, key in ((12, "+13125550101", "DEMO-VIP"), (8, "+13125550102", "DEMO-CHURNED"),
                                   (20, "+13125550103", "DEMO-UNKNOWN")):
        created = (now - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
        the_sandbox.add("portouts", {"phone_numbers": [number], "carrier_name": "Rival Mobile", "spid": "987H",
                                           "support_key": key, "created_at": created})
    decided = pipeline.plan_from_account(client, desired, fingerprints=remembered)
    render.render(decided, "text", sys.stdout)
    _title("7. apply answers them; drift keeps reporting the one left to a person (exit 2 in CI)")
    pipeline.apply_plan(client, decided, on_progress=show_progress, fingerprints=remembered)
    render.render(pipeline.plan_from_account(client, desired, fingerprints=remembered), "text", sys.stdout, drift=True)


def example_environ() -> dict[str, str]:
    """The process environment with a fresh random value for each of EXAMPLE_VARIABLES."""
    return {**os.environ, **{name: secrets.token_urlsafe(24) for name in EXAMPLE_VARIABLES}}


def _rotate(client: TelnyxClient, config: list[str], environ: dict[str, str], remembered: Fingerprints) -> None:
    """A secret's value changes in the environment: the plan replaces it, and neither value is shown."""
    from reconciler import pipeline

    _title(f"8. {ROTATED_VARIABLE} is rotated: the secret that reads it is replaced; no value is ever shown")
    rotated = pipeline.load_desired(config, {**environ, ROTATED_VARIABLE: secrets.token_urlsafe(24)})
    secrets_only = [pipeline.Target("integration_secrets")]  # the port-out left to a person was shown above

    def plan() -> Plan:
        return pipeline.plan_from_account(client, rotated, secrets_only, fingerprints=remembered)

    changed = plan()
    render.render(changed, "text", sys.stdout)
    pipeline.apply_plan(client, changed, on_progress=show_progress, fingerprints=remembered)
    render.render(plan(), "text", sys.stdout)


def _title(text: str) -> None:
    click.echo(f"\n== {text}")


def _portal_edit(client: TelnyxClient) -> None:
    providers = client.list_all("/authentication_providers")
    if not providers:
        raise ReconcilerError("the demo config should hold an SSO provider", "restore examples/config from git")
    client.patch(f"/authentication_providers/{providers[0]['id']}", {"name": "Renamed in the portal"})


