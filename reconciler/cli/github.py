"""`github run`: what the GitHub Action runs. One command (validate, plan, apply, drift) with the job summary,
the step outputs, the sticky pull-request comment, and on apply the check that the plan is the reviewed one."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.cli import redact
from reconciler.cli.app import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    CliSettings,
    cli,
    config_args,
    force_option,
    show_progress,
    target_option,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from reconciler.api import Api
    from reconciler.github.context import ActionsContext
    from reconciler.plan import Plan
    from reconciler.state import Fingerprints

COMMANDS = ("validate", "plan", "apply", "drift")


@dataclass
class Outcome:
    """What one run leaves behind: the step outputs, the job summary, and the comment to post (if any)."""

    exitcode: int = EXIT_OK
    summary: str = ""
    markdown: str = ""
    plan: Plan | None = None
    plan_json: str = ""
    comment: str | None = None
    comment_on: int | None = None


@cli.group()
def github() -> None:
    """GitHub Actions: job summaries, one plan comment per pull request, apply only what was reviewed."""


@github.command("run")
@click.argument("command", type=click.Choice(COMMANDS))
@config_args
@click.option("--comment", is_flag=True, help="Post the plan (or why there is none) on the pull request.")
@click.option("--expect-checksum", metavar="SHA", help="Apply only a plan with this checksum (else: the merged pull request's).")
@click.option("--plan-json", type=click.Path(dir_okay=False), help="Where to write the JSON plan.")
@click.option("--allow-release", is_flag=True, help="Allow releasing phone numbers marked `release: true`.")
@target_option
@force_option
@click.pass_obj
def run(settings: CliSettings, command: str, config: tuple[str, ...], comment: bool, expect_checksum: str | None,
        plan_json: str | None, allow_release: bool, targets: tuple[str, ...], force: bool) -> int:
    """Run COMMAND as the GitHub Action does: exit code and outputs for the workflow, the Markdown plan or
    drift report in the job summary, and with --comment the sticky plan comment."""
    from reconciler.github.comment import config_label
    from reconciler.github.context import ActionsContext

    ctx = ActionsContext.from_env()
    label = config_label(config)
    json_path = Path(plan_json or Path(os.environ.get("RUNNER_TEMP", ".")) / "telnyx-plan.json")
    outcome = Outcome()
    try:
        _run(settings, ctx, command, config, outcome, expect_checksum, allow_release, targets, force, label)
    except Exception as exc:  # noqa: BLE001 - a failure is reported in the summary and comment, then raised again
        _failed(outcome, command, label, exc)
        _finish(ctx, outcome, json_path, comment, label)
        raise
    _finish(ctx, outcome, json_path, comment, label)
    return outcome.exitcode


def _run(settings: CliSettings, ctx: ActionsContext, command: str, config: tuple[str, ...], outcome: Outcome,
         expect: str | None, allow_release: bool, targets: tuple[str, ...], force: bool, label: str) -> None:
    from reconciler import pipeline
    from reconciler.cli.app import api_client, load_config, state_for
    from reconciler.github.comment import plan_body, summary_markdown
    from reconciler.render import render_text

    parsed = [pipeline.Target.parse(t) for t in targets]
    desired = load_config(config, parsed)
    if command == "validate":
        outcome.summary = f"Valid: {desired.count()} resource(s) in {len(desired.files)} file(s)."
        outcome.markdown = f"### Telnyx config\n\n{outcome.summary}\n"
        return
    fingerprints = state_for(desired)
    with api_client(settings) as client:
        the_plan = pipeline.plan_from_account(client, desired, parsed, fingerprints)
        outcome.plan = the_plan
        drift = command == "drift"
        render_text(the_plan, sys.stdout, drift)
        outcome.markdown = summary_markdown(the_plan, drift=drift)
        outcome.comment = plan_body(label, the_plan, drift=drift, run_url=ctx.run_url)
        outcome.summary = _one_line(the_plan, drift)
        if command == "drift":
            outcome.exitcode = EXIT_OK if the_plan.in_sync else EXIT_CHANGES
        elif command == "plan":
            _refusal_noted(outcome, the_plan, lambda: pipeline.check_plan(the_plan, desired, force, allow_release=True), label, ctx)
        else:
            # A policy's answers (to pending port-outs) follow the reviewed policy in the config; each run's
            # answers differ (new requests arrive), so they are applied without a reviewed checksum, and only
            # when nothing but policies is targeted.
            answers_only = bool(parsed) and all(t.decides for t in parsed)
            _apply(client, ctx, outcome, the_plan, None if answers_only else expect or "", label,
                   lambda: pipeline.check_plan(the_plan, desired, force, allow_release), fingerprints)


def _refusal_noted(outcome: Outcome, the_plan: Plan, check: Callable[[], None], label: str, ctx: ActionsContext) -> None:
    """A plan refused by a safety threshold or prevent_destroy is still shown, under the reason."""
    from reconciler.errors import UnsafePlanError
    from reconciler.github.comment import plan_body

    try:
        check()
    except UnsafePlanError as exc:
        reason = f"**Refused:** {exc.message}. {exc.hint}"
        outcome.comment = plan_body(label, the_plan, run_url=ctx.run_url, note=reason)
        outcome.markdown = f"> {reason}\n\n" + outcome.markdown
        raise


def _apply(client: Api, ctx: ActionsContext, outcome: Outcome, the_plan: Plan, expect: str | None, label: str,
           check: Callable[[], None], fingerprints: Fingerprints | None) -> None:
    from reconciler import pipeline
    from reconciler.errors import StalePlanError
    from reconciler.github.comment import plan_body

    """Apply the plan if it is the reviewed one (`expect` None: port-out answers, which need no review)."""
    reviewed, pull = _reviewed_checksum(ctx, label, expect) if expect is not None else (None, None)
    outcome.comment_on = pull
    outcome.comment = None  # only a refused apply comments (on the merged pull request)
    if the_plan.empty:
        outcome.summary = "No changes: the account matches the config."
        return
    try:
        if reviewed is not None:
            pipeline.verify_checksum(the_plan, reviewed)
    except StalePlanError as exc:
        note = (f"**Not applied.** This plan (checksum `{the_plan.checksum}`) is not the one reviewed"
                f" (`{reviewed}`). Review it, then run the workflow by hand with `--expect-checksum {the_plan.checksum}`.")
        outcome.comment = plan_body(label, the_plan, run_url=ctx.run_url, note=note)
        outcome.markdown = f"> {note}\n\n" + outcome.markdown
        raise exc
    check()
    done = pipeline.apply_plan(client, the_plan, on_progress=show_progress, fingerprints=fingerprints)
    outcome.summary = f"Apply complete: {len(done)} change(s) applied."
    outcome.markdown = f"**{outcome.summary}**\n\n" + outcome.markdown
    click.echo(outcome.summary)


def _reviewed_checksum(ctx: ActionsContext, label: str, expect: str | None) -> tuple[str, int | None]:
    """The checksum reviewers saw: given (a manual run), or the last plan comment of the merged pull request
    of the pushed commit."""
    from reconciler.errors import ReconcilerError
    from reconciler.github.client import GitHubClient
    from reconciler.github.comment import find_reviewed

    if expect:
        return expect, None
    if ctx.event_name != "push" or not ctx.sha:
        raise ReconcilerError("apply in GitHub Actions needs the reviewed plan's checksum",
                              "Run it on the push of a merged pull request, or pass --expect-checksum SHA.")
    with GitHubClient(ctx.api_url, ctx.require_repository(), ctx.token) as gh:
        merged = [p for p in gh.pulls_of_commit(ctx.sha) if p.get("merged_at")]
        if not merged:
            raise ReconcilerError(f"commit {ctx.sha[:12]} is not the merge of a reviewed pull request: nothing was applied",
                                  "Merge changes through a pull request, or run the workflow by hand with --expect-checksum SHA.")
        number = int(merged[0]["number"])
        found = find_reviewed(gh.comments(number), label, ctx.comment_author)
    if found is None or found.checksum is None:
        raise ReconcilerError(f"pull request #{number} has no reviewed plan for {label}: nothing was applied",
                              "Review the plan commented on it now, then run the workflow by hand with --expect-checksum SHA.")
    return found.checksum, number


def _one_line(the_plan: Plan, drift: bool) -> str:
    from reconciler.render import headline

    return headline(the_plan, drift)


def _failed(outcome: Outcome, command: str, label: str, exc: BaseException) -> None:
    from reconciler.errors import (
        ApplyError,
        ConfigError,
        ReconcilerError,
        StalePlanError,
        UnsafePlanError,
    )
    from reconciler.github.comment import failure_body

    outcome.exitcode = EXIT_ERROR
    if not isinstance(exc, ReconcilerError):
        outcome.summary = "Internal error: this is a bug in telnyx-reconciler."
        outcome.comment = outcome.comment if outcome.comment_on else failure_body(label, "internal error", [outcome.summary])
        outcome.markdown = f"### Telnyx {command}: internal error\n\n{outcome.summary}\n"
        return
    outcome.summary = f"Error: {exc.message.splitlines()[0]}"
    if isinstance(exc, (UnsafePlanError, StalePlanError)) and outcome.comment is not None:
        return  # the plan is shown under the reason (_refusal_noted, _apply)
    title = ("the config is invalid" if isinstance(exc, ConfigError)
             else "the apply stopped part way" if isinstance(exc, ApplyError) else "no plan could be made")
    lines = [str(i) for i in exc.issues] if isinstance(exc, ConfigError) else [exc.message] + ([exc.hint] if exc.hint else [])
    outcome.comment = failure_body(label, title, lines)
    outcome.markdown = outcome.comment.split("\n", 1)[1]
    if command == "apply" and outcome.comment_on is None:
        outcome.comment = None


def _finish(ctx: ActionsContext, outcome: Outcome, json_path: Path, comment: bool, label: str) -> None:
    """Outputs, job summary and comment, whatever happened; every secret the run knows of scrubbed out."""
    from reconciler.render import plan_document

    if outcome.plan is not None:
        json_path.write_text(json.dumps(plan_document(outcome.plan), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    ctx.write_summary(redact.scrub(outcome.markdown))
    ctx.write_outputs({
        "exitcode": str(outcome.exitcode),
        "has-changes": "true" if outcome.plan is not None and not outcome.plan.empty else "false",
        "checksum": outcome.plan.checksum if outcome.plan is not None else "",
        "plan-json": str(json_path) if outcome.plan is not None else "",
        "summary": redact.scrub(outcome.summary),
    })
    number = outcome.comment_on or ctx.pull_request
    if comment and outcome.comment is not None and number is not None:
        _post(ctx, number, label, redact.scrub(outcome.comment))


def _post(ctx: ActionsContext, number: int, label: str, body: str) -> None:
    """Edit this config's plan comment in place, or create it."""
    from reconciler.github.client import GitHubClient
    from reconciler.github.comment import find_reviewed

    with GitHubClient(ctx.api_url, ctx.require_repository(), ctx.token) as gh:
        earlier = find_reviewed(gh.comments(number), label, ctx.comment_author)
        if earlier is None:
            gh.create_comment(number, body)
        else:
            gh.edit_comment(earlier.comment_id, body)
    click.echo(f"Plan comment {'updated' if earlier else 'posted'} on pull request #{number}.", err=True)
