"""`serve`: answer port-outs as they arrive (reconciler/serve/). starlette, uvicorn and cryptography are
imported only when the command runs, so `--help` and every other command stay as fast as before."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.cli import redact
from reconciler.cli.app import EXIT_OK, CliSettings, api_client, cli, config_args
from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from reconciler.states import DesiredState

PUBLIC_KEY_ENV = "TELNYX_PUBLIC_KEY"
EXTRA_HINT = "Install the receiver's extra: pip install 'telnyx-reconciler[serve]'"


@cli.command()
@config_args
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (put HTTPS in front).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--catch-up-seconds", type=click.FloatRange(1), default=300, show_default=True,
              help="Read missed events and pending orders this often (and at start).")
@click.option("--notify-url", help="POST one JSON message ({\"text\": ...}) per order left to a person.")
@click.option("--memory-file", type=click.Path(dir_okay=False),
              help="Events seen and the events cursor. Default: telnyx-reconciler.serve.json beside the state file.")
@click.option("--max-body", type=click.IntRange(1024, 1024 * 1024), default=64 * 1024, show_default=True,
              help="Largest webhook body accepted, in bytes.")
@click.pass_obj
def serve(settings: CliSettings, config: tuple[str, ...], host: str, port: int, catch_up_seconds: float,
          notify_url: str | None, memory_file: str | None, max_body: int) -> int:
    """Answer port-outs as they arrive: receive Telnyx's signed port-out webhooks on POST /webhooks/telnyx,
    decide each pending order with the config's portout_policy, and catch up from the events API.

    Needs TELNYX_API_KEY and TELNYX_PUBLIC_KEY (the account's webhook public key, base64). GET /healthz
    reports liveness and the last catch-up. SIGHUP (or a changed file) reloads the config.
    """
    try:
        from reconciler.serve import app, server, signature
        from reconciler.serve.config import LiveConfig
        from reconciler.serve.memory import FILE_NAME, Memory, MemoryFileError
        from reconciler.serve.receiver import Receiver
    except ImportError as exc:
        raise ReconcilerError(f"`serve` needs {exc.name or 'its extra'}, which is not installed", EXTRA_HINT) from None
    if notify_url and not notify_url.startswith(("http://", "https://")):
        raise click.UsageError(f"--notify-url must be an http(s) URL, not {notify_url!r}")
    try:
        key = signature.public_key(os.environ.get(PUBLIC_KEY_ENV, ""))
    except ValueError as exc:
        raise ReconcilerError(f"{PUBLIC_KEY_ENV}: {exc}", f"export {PUBLIC_KEY_ENV}=<the public key, base64>") from None
    live = LiveConfig(config, on_loaded=lambda desired: redact.register(desired.secret_values()))
    path = Path(memory_file) if memory_file else _beside_state(live.current(), config) / FILE_NAME
    try:
        memory = Memory(path)
    except MemoryFileError as exc:
        raise ReconcilerError(str(exc), "Point --memory-file at another file, or move this one away.") from None
    _log_json()
    with api_client(settings) as client:
        receiver = Receiver(client, live, memory, catch_up_seconds=catch_up_seconds, notify_url=notify_url)
        try:
            sock = server.bind(host, port)
        except OSError as exc:
            raise ReconcilerError(f"cannot listen on {host}:{port}: {exc.strerror}",
                                  "Choose another --port (0 picks a free one).") from None
        server.serve_forever(app.build_app(receiver, key, max_body=max_body), receiver, sock, _ready)
    return EXIT_OK


def _ready(url: str) -> None:
    click.echo(f"Receiving port-out webhooks on {url}/webhooks/telnyx (health: {url}/healthz). Ctrl-C to stop.",
               err=True)


def _beside_state(desired: DesiredState, config: tuple[str, ...]) -> Path:
    if desired.state_path is not None:
        return desired.state_path.parent
    first = Path(config[0]) if config else Path(".")
    return first if first.is_dir() else first.parent


class _JsonLines(logging.Formatter):
    """A decision is already a JSON line; anything else the receiver logs becomes one."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "reconciler.serve.decisions":
            return record.getMessage()
        return json.dumps({"at": self.formatTime(record), "level": record.levelname.lower(),
                           "logger": record.name, "message": record.getMessage()})


def _log_json() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonLines())
    handler.addFilter(redact.ScrubFilter())
    logger = logging.getLogger("reconciler.serve")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False


