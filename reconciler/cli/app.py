"""The command group, its shared options, and the mapping of every outcome to an exit code.

Exit codes (a contract CI relies on):
  0  success, no changes, no drift
  1  a user, config or API error (one paragraph, no traceback)
  2  changes present (`plan --detailed-exitcode`) or drift found (`drift`)
  3  an internal error (traceback only with --debug)
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from reconciler import render
from reconciler.cli import redact
from reconciler.errors import ApplyError, ReconcilerError

if TYPE_CHECKING:  # a command imports the engine, the client and the sandbox when it runs, not before
    from reconciler.apply import Progress
    from reconciler.client import TelnyxClient
    from reconciler.pipeline import Target
    from reconciler.state import Fingerprints
    from reconciler.states import DesiredState

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_INTERNAL = 0, 1, 2, 3
DEFAULT_BASE_URL = "https://api.telnyx.com/v2"  # the client's default too (a test keeps the two equal)


@dataclass
class CliSettings:
    debug: bool = False
    base_url: str = DEFAULT_BASE_URL
    concurrency: int = 8


class ReconcilerGroup(click.Group):
    """Maps every outcome to the exit-code contract, for the console script and for tests alike."""

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:  # type: ignore[override]
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv
        try:
            code = super().main(argv, prog_name or "telnyx-reconciler", standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("Aborted: nothing was applied.", err=True)
            code = EXIT_ERROR
        except click.ClickException as exc:
            exc.show()
            code = EXIT_ERROR
        except ReconcilerError as exc:
            report(exc, debug)
            code = EXIT_ERROR
        except Exception:  # noqa: BLE001 - the last line of defence: a bug must not look like a user error
            if debug:
                click.echo(redact.scrub(traceback.format_exc().rstrip()), err=True)
            click.echo("Internal error: this is a bug in telnyx-reconciler. Run again with --debug for details.", err=True)
            code = EXIT_INTERNAL
        sys.exit(code if isinstance(code, int) else EXIT_OK)


DONE_WORDS = {"create": "created", "update": "updated", "delete": "deleted"}


def show_progress(event: Progress) -> None:
    """One line per finished step; batch kinds report numbers done of total as their jobs finish."""
    if event.step is not None:
        change = event.step.change
        part = "" if not change.action.replaces else (
            " (replace: the old one)" if event.what == "delete" else " (replace: the new one)")
        click.echo(f"  [{event.done}/{event.total}] {DONE_WORDS[event.what]} {render.shown_address(change)}{part}")
    else:
        click.echo(f"  {event.kind}: {event.done:,} of {event.total:,} {event.what}")


SHOWN_APPLIED = 20  # beyond this, applied changes are counted per kind, not listed (a batch may hold thousands)


def _applied_lines(exc: ApplyError) -> list[str]:
    if len(exc.applied) <= SHOWN_APPLIED:
        return [f"  applied:     {change.action.symbol} {render.shown_address(change)}" for change in exc.applied]
    per_kind = Counter(change.kind for change in exc.applied)
    return [f"  applied:     {count} change(s) of {kind}" for kind, count in sorted(per_kind.items())]


def report(exc: ReconcilerError, debug: bool) -> None:
    lines = [f"Error: {exc.message}"]
    if isinstance(exc, ApplyError):
        lines += _applied_lines(exc)
        lines += [f"  failed:      {change.action.symbol} {render.shown_address(change)}: {reason}" for change, reason in exc.failed]
        lines += [f"  not applied: {change.action.symbol} {render.shown_address(change)}" for change in exc.pending]
    if exc.hint:
        lines.append(exc.hint)
    if debug:
        lines.append(traceback.format_exc().rstrip())
    scrubbed = redact.scrub("\n".join(lines))
    click.echo("\n".join(render.visible(line) for line in scrubbed.split("\n")), err=True)  # a quoted name is never obeyed


@click.group(cls=ReconcilerGroup)
@click.option("--debug", is_flag=True, help="Log every request and show tracebacks.")
@click.option(
    "--base-url", envvar="TELNYX_BASE_URL", default=DEFAULT_BASE_URL, show_default=True,
    help="Telnyx API base URL (env TELNYX_BASE_URL).",
)
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True, help="Requests in flight at most.")
@click.version_option(package_name="telnyx-reconciler")
@click.pass_context
def cli(ctx: click.Context, debug: bool, base_url: str, concurrency: int) -> None:
    """Keep a Telnyx account as code: validate, plan, apply and detect drift from YAML.

    The API key is read from TELNYX_API_KEY. With no CONFIG, ./telnyx/ or ./telnyx.yaml is used.
    """
    _log_to_stderr(logging.DEBUG if debug else logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    ctx.obj = CliSettings(debug, base_url, concurrency)


class _CliLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Log lines on standard error, secrets scrubbed (redact.py)."""


def _log_to_stderr(level: int) -> None:
    handler = _CliLogHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redact.ScrubFilter())
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, _CliLogHandler)] + [handler]
    root.setLevel(level)


@contextmanager
def api_client(settings: CliSettings) -> Iterator[TelnyxClient]:
    from reconciler.client import TelnyxClient

    key = os.environ.get("TELNYX_API_KEY", "")
    redact.register([key])
    if not key:
        raise ReconcilerError("TELNYX_API_KEY is not set", "Export an API v2 key: export TELNYX_API_KEY=KEY...")
    with TelnyxClient(key, settings.base_url, max_in_flight=settings.concurrency) as client:
        yield client


def load_config(paths: tuple[str, ...], targets: list[Target] | None = None) -> DesiredState:
    """Load and validate the config (only the targeted kinds, when targeted), and register its secrets so
    no message can show them."""
    from reconciler import pipeline

    desired = pipeline.load_desired(paths, targets=targets or ())
    redact.register(desired.secret_values())
    return desired


def state_for(desired: DesiredState) -> Fingerprints | None:
    """The recorded fingerprints of the config's write-only values, keyed from the API key (state.py)."""
    from reconciler import pipeline

    return pipeline.open_state(desired, os.environ.get("TELNYX_API_KEY", ""))


config_args = click.argument("config", nargs=-1, type=click.Path())
format_option = click.option(
    "--format", "fmt", type=click.Choice(render.FORMATS), default="text", show_default=True, help="Output format."
)
target_option = click.option(
    "--target", "targets", multiple=True, metavar="KIND[:KEY]", help="Limit to a kind or one resource (repeatable)."
)
force_option = click.option("--force", is_flag=True, help="Allow a plan above the safety thresholds.")


