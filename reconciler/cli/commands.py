"""The commands that read or change an account: validate, plan, apply, drift, export, schema.

Each command imports the engine when it runs (`--help` and `validate` stay fast; see app.py).
"""

from __future__ import annotations

import re
import sys
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler import render
from reconciler.cli.app import (
    EXIT_CHANGES,
    EXIT_OK,
    CliSettings,
    api_client,
    cli,
    config_args,
    force_option,
    format_option,
    load_config,
    show_progress,
    state_for,
    target_option,
)
from reconciler.errors import ReconcilerError
from reconciler.plan import Plan
from reconciler.planfile import not_a_plan, read_planfile, saved_config, write_planfile

if TYPE_CHECKING:
    from reconciler import pipeline


def exportable() -> list[str]:
    """Every kind (a policy lives only in git: there is nothing of it to export)."""
    from reconciler.kinds import KINDS

    return list(KINDS)


class KindChoice(click.Choice):
    """The kinds, read from the registry only when `export` parses or shows its options."""

    def __init__(self) -> None:
        super().__init__([])

    @property  # type: ignore[override]
    def choices(self) -> list[str]:
        return exportable()

    @choices.setter
    def choices(self, _: object) -> None:
        pass


def _targets(targets: tuple[str, ...]) -> list[pipeline.Target]:
    from reconciler import pipeline

    return [pipeline.Target.parse(t) for t in targets]


@cli.command()
@config_args
def validate(config: tuple[str, ...]) -> int:
    """Check the config offline: syntax, fields, references. Exit 0 valid, 1 invalid."""
    from reconciler import pipeline

    desired = load_config(config)
    for warning in pipeline.config_warnings(desired):
        click.echo(f"Warning: {warning}", err=True)
    click.echo(f"Valid: {desired.count()} resource(s) in {len(desired.files)} file(s).")
    return EXIT_OK


@cli.command()
@config_args
@click.option("--out", type=click.Path(dir_okay=False), help="Save the plan for `apply PLANFILE`.")
@format_option
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes.")
@target_option
@force_option
@click.option("--max-authorizations", type=click.IntRange(0), default=None,
              help="Port-out authorizations one run may send (default: the policy's max_authorizations, 10).")
@click.pass_obj
def plan(
    settings: CliSettings, config: tuple[str, ...], out: str | None, fmt: str, detailed_exitcode: bool,
    targets: tuple[str, ...], force: bool, max_authorizations: int | None,
) -> int:
    """Show what apply would change in the account."""
    from reconciler import pipeline

    parsed = _targets(targets)
    desired = load_config(config, parsed)
    fingerprints = state_for(desired)
    with api_client(settings) as client:
        the_plan = pipeline.plan_from_account(client, desired, parsed, fingerprints)
    render.render(the_plan, fmt, sys.stdout)
    pipeline.check_plan(the_plan, desired, force, allow_release=True,  # apply asks for --allow-release
                        max_authorizations=max_authorizations)
    if out:
        write_planfile(Path(out), the_plan, config, targets, force)
        click.echo(f"Saved the plan to {out} (checksum {the_plan.checksum[:12]}).", err=True)
    return EXIT_CHANGES if detailed_exitcode and not the_plan.empty else EXIT_OK


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    match = re.fullmatch(r"(\d{1,6}(?:\.\d+)?)([sm]?)", value.strip())
    if match is None:
        raise click.BadParameter(f"{value!r} is not a duration: give seconds or minutes, such as 0, 30s or 5m")
    return float(match[1]) * (60 if match[2] == "m" else 1)


@cli.command()
@click.argument("config", nargs=-1, type=click.Path())
@click.option("--auto-approve", is_flag=True, help="Apply without asking.")
@click.option("--allow-release", is_flag=True, help="Allow releasing phone numbers marked `release: true` (irreversible).")
@click.option("--expect-checksum", metavar="SHA", help="Apply only if the plan's checksum is this one (the reviewed plan's).")
@target_option
@force_option
@click.option("--lock-timeout", default="0", callback=_duration, metavar="DURATION",
              help="Wait this long (30s, 5m) for another apply of the config to finish; default: refuse at once.")
@click.option("--max-authorizations", type=click.IntRange(0), default=None,
              help="Port-out authorizations one run may send (default: the policy's max_authorizations, 10).")
@click.pass_obj
def apply(
    settings: CliSettings, config: tuple[str, ...], auto_approve: bool, allow_release: bool, expect_checksum: str | None,
    targets: tuple[str, ...], force: bool, lock_timeout: float, max_authorizations: int | None,
) -> int:
    """Make the account match the config, or apply a saved PLANFILE exactly, or only the plan whose checksum
    was reviewed (--expect-checksum, no question asked)."""
    from reconciler import pipeline
    from reconciler.apply import stop_on_signals

    saved = read_planfile(Path(config[0])) if len(config) == 1 and Path(config[0]).is_file() else None
    if saved is not None:
        config, targets, force = saved_config(Path(config[0]), saved), tuple(saved["targets"]), bool(saved["force"])
    parsed = _targets(targets)
    desired = load_config(config, parsed)
    click.get_current_context().with_resource(pipeline.apply_lock(desired, config, lock_timeout))
    fingerprints = state_for(desired)
    with api_client(settings) as client:
        the_plan = pipeline.plan_from_account(client, desired, parsed, fingerprints)
        if saved is not None:
            pipeline.verify_saved(Plan.from_dict(saved["plan"]), the_plan)
        else:
            render.render(the_plan, "text", sys.stdout)
        if expect_checksum is not None and not the_plan.empty:
            pipeline.verify_checksum(the_plan, expect_checksum)
        if the_plan.empty:
            if saved is not None:
                click.echo("No changes: the account matches the config.")
            return EXIT_OK
        pipeline.check_plan(the_plan, desired, force, allow_release, max_authorizations)
        if saved is None and expect_checksum is None and not auto_approve:
            _confirm()
        with stop_on_signals(_stopping) as stop:
            done = pipeline.apply_plan(client, the_plan, show_progress, fingerprints, stop)
    click.echo(f"Apply complete: {len(done)} change(s) applied.")
    return EXIT_OK


def _stopping(signal_name: str) -> None:
    """Said from the signal handler; a signal that lands while stderr is being written cannot write to it."""
    with suppress(RuntimeError):  # a reentrant write to the same buffer
        click.echo(f"{signal_name}: stopping after the request in flight (send it again to stop at once).", err=True)


def _confirm() -> None:
    if not sys.stdin.isatty():
        raise ReconcilerError("apply needs confirmation but there is no terminal", "Pass --auto-approve, or apply a saved PLANFILE.")
    click.confirm("Apply these changes to the Telnyx account?", abort=True)


@cli.command()
@config_args
@format_option
@target_option
@click.pass_obj
def drift(settings: CliSettings, config: tuple[str, ...], fmt: str, targets: tuple[str, ...]) -> int:
    """Report changes made in the account outside git, and what waits for a person (pending port-outs no
    rule decides). Exit 0 in sync, 2 drift found."""
    from reconciler import pipeline

    parsed = _targets(targets)
    desired = load_config(config, parsed)
    fingerprints = state_for(desired)
    with api_client(settings) as client:
        the_plan = pipeline.plan_from_account(client, desired, parsed, fingerprints)
    render.render(the_plan, fmt, sys.stdout, drift=True)
    return EXIT_OK if the_plan.in_sync else EXIT_CHANGES


@cli.command()
@click.option("--kind", "kinds", multiple=True, type=KindChoice(), help="Kinds to export (default: all).")
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file instead of standard output.")
@click.pass_obj
def export(settings: CliSettings, kinds: tuple[str, ...], out: str | None) -> int:
    """Write the live account as config YAML (how a team adopts an existing account)."""
    from reconciler import pipeline
    from reconciler.export import export as export_live
    from reconciler.yamlio import dump as dump_yaml

    chosen = list(kinds or exportable())
    with api_client(settings) as client:
        # the kinds a chosen kind names (a number's billing group) are read too, so names can be written
        live = pipeline.fetch_live(client, pipeline.with_dependencies(chosen))
    result = export_live(live, chosen)
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            dump_yaml(result.document, handle, result.header)
        click.echo(f"Wrote {out}.", err=True)
    else:
        dump_yaml(result.document, sys.stdout, result.header)
    return EXIT_OK


@cli.command()
@click.option("--out", type=click.Path(file_okay=False), default="schemas", show_default=True, help="Directory to write to.")
def schema(out: str) -> int:
    """Write the JSON Schema of the config (for editors) to OUT/config.schema.json."""
    from reconciler.schema import write_schemas

    for path in write_schemas(Path(out)):
        click.echo(f"Wrote {path}.")
    return EXIT_OK


@cli.command()
@click.argument("planfile", type=click.Path(exists=True, dir_okay=False))
@format_option
def show(planfile: str, fmt: str) -> int:
    """Render a saved plan (written by `plan --out`) offline."""
    saved = read_planfile(Path(planfile))
    if saved is None:
        raise not_a_plan(Path(planfile), "it is a YAML config")
    render.render(Plan.from_dict(saved["plan"]), fmt, sys.stdout)
    return EXIT_OK
