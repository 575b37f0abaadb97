"""`addresses accept-suggestions NAME`: accept the API's suggested values for an existing address (the
calls are in kinds/address_checks.py, errors and exit codes in app.py)."""

from __future__ import annotations

import click

from reconciler.cli import redact
from reconciler.cli.app import EXIT_OK, CliSettings, api_client, cli
from reconciler.errors import ReconcilerError


@cli.group()
def addresses() -> None:
    """Addresses in the account, beyond what a plan does."""


@addresses.command("accept-suggestions")
@click.argument("name")
@click.pass_obj
def accept_suggestions_command(settings: CliSettings, name: str) -> int:
    """Accept the API's suggested values for the address NAME (its customer_reference)."""
    from reconciler.kinds import KINDS
    from reconciler.kinds.address_checks import VALIDATED, accept_suggestions

    kind = KINDS["addresses"]
    with api_client(settings) as client:
        before = kind.find_raw(client, name)
        if before is None:
            raise ReconcilerError(f"the account has no address named {name!r}",
                                  "Give the name of an address the tool manages (its customer_reference).")
        answer = accept_suggestions(client, str(before["id"]))
        after = client.get(f"{kind.path}/{before['id']}", what=f"reading address {name!r}").get("data") or {}
    changed = [f"  {f}: {before.get(f)!r} -> {after.get(f)!r}" for f in VALIDATED if before.get(f) != after.get(f)]
    lines = [f"addresses[{name}]: suggestions {'accepted' if answer.get('accepted') else 'not accepted'}"]
    if changed:
        lines += ["The address now reads:", *changed,
                  "Write these values in the config entry, or the next apply replaces the address with the old ones."]
    else:
        lines.append("No value changed (nothing was suggested, or the suggestions were accepted before).")
    click.echo(redact.scrub("\n".join(lines)))
    return EXIT_OK
