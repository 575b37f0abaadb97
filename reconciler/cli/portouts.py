"""`portouts`: read the account's port-out orders, their events and rejection codes, republish an
event, and export a report. Each command prints JSON (`list` also a short text table); the calls
are in reconciler/portouts.py, errors and exit codes in app.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from uuid import UUID

import click

from reconciler import portouts as po
from reconciler.cli import redact
from reconciler.cli.app import EXIT_OK, CliSettings, api_client, cli
from reconciler.errors import NotFoundError, ReconcilerError

if TYPE_CHECKING:
    from reconciler.client import TelnyxClient

FORMATS = ("json", "text")
COLUMNS = ("id", "status", "support_key", "carrier_name", "spid", "phone_numbers", "created_at")


@contextmanager
def _account(settings: CliSettings) -> Iterator[TelnyxClient]:
    """The API client; an id that names nothing gets a hint about these commands, not about `plan`."""
    try:
        with api_client(settings) as client:
            yield client
    except NotFoundError as exc:
        raise ReconcilerError(exc.message, "See what exists with `telnyx-reconciler portouts list` "
                                           "or `portouts events`.") from exc


def _print(value: Any) -> int:
    click.echo(redact.scrub(json.dumps(po.without_credentials(value), indent=2, sort_keys=True)))
    return EXIT_OK


def _one_or_many(values: tuple[str, ...], one: str, many: str) -> dict[str, Any]:
    """A repeatable option: one value uses the plain filter, several the `_in` / list one."""
    if not values:
        return {}
    return {one: values[0]} if len(values) == 1 else {many: list(values)}


def _range(after: str | None, before: str | None) -> dict[str, str] | None:
    bounds = {"gte": after, "lte": before}
    return {k: v for k, v in bounds.items() if v} or None


def _table(orders: list[dict[str, Any]]) -> str:
    rows = [[", ".join(o.get(c) or []) if c == "phone_numbers" else str(o.get(c) or "") for c in COLUMNS]
            for o in orders]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [list(COLUMNS), *rows]]
    return "\n".join(lines + [f"{len(orders)} port-out order(s)"])


@cli.group()
def portouts() -> None:
    """Port-out orders other carriers have opened for the account's numbers."""


@portouts.command("list")
@click.option("--status", "statuses", multiple=True, type=click.Choice(po.STATUSES), help="Repeatable.")
@click.option("--carrier-name", help="The gaining carrier (case-insensitive).")
@click.option("--spid", help="The gaining carrier's SPID.")
@click.option("--support-key", help="The order's support key, e.g. PO_764725.")
@click.option("--phone-number", help="A number on the order (+E.164).")
@click.option("--pon", help="The port order number.")
@click.option("--country-code", "countries", multiple=True, help="Two-letter country code (repeatable).")
@click.option("--foc-date", help="Orders whose FOC date falls on this day (ISO 8601 date-time).")
@click.option("--inserted-after", help="Created at or after (ISO 8601 date-time).")
@click.option("--inserted-before", help="Created at or before (ISO 8601 date-time).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.pass_obj
def list_command(settings: CliSettings, statuses: tuple[str, ...], countries: tuple[str, ...], inserted_after: str | None,
                 inserted_before: str | None, fmt: str, **plain: str | None) -> int:
    """List port-out orders, newest first."""
    filters: dict[str, Any] = {**{k: v for k, v in plain.items() if v},
                               **_one_or_many(statuses, "status", "status_in"),
                               **_one_or_many(countries, "country_code", "country_code_in"),
                               "inserted_at": _range(inserted_after, inserted_before)}
    with _account(settings) as client:
        orders = po.list_portouts(client, filters)
    if fmt == "text":
        click.echo(_table(orders))
        return EXIT_OK
    return _print(orders)


@portouts.command()
@click.argument("portout_id", type=click.UUID)
@click.pass_obj
def show(settings: CliSettings, portout_id: UUID) -> int:
    """One order with its comments and supporting documents."""
    with _account(settings) as client:
        return _print(po.show_portout(client, str(portout_id)))


@portouts.command()
@click.option("--portout-id", type=click.UUID, help="Only the events of this order.")
@click.option("--event-type", type=click.Choice(po.EVENT_TYPES))
@click.option("--created-after", help="ISO 8601 date-time.")
@click.option("--created-before", help="ISO 8601 date-time.")
@click.pass_obj
def events(settings: CliSettings, portout_id: UUID | None, event_type: str | None, created_after: str | None,
           created_before: str | None) -> int:
    """List port-out events, newest first."""
    filters = {"portout_id": portout_id and str(portout_id), "event_type": event_type,
               "created_at": _range(created_after, created_before)}
    with _account(settings) as client:
        return _print(po.list_events(client, filters))


@portouts.command()
@click.argument("event_id", type=click.UUID)
@click.pass_obj
def republish(settings: CliSettings, event_id: UUID) -> int:
    """Send an event's notifications again (no new event is made)."""
    with _account(settings) as client:
        po.republish_event(client, str(event_id))
    return _print({"republished": str(event_id)})


@portouts.command()
@click.argument("portout_id", type=click.UUID)
@click.option("--code", "codes", multiple=True, type=int, help="Only these codes (repeatable).")
@click.pass_obj
def rejections(settings: CliSettings, portout_id: UUID, codes: tuple[int, ...]) -> int:
    """The rejection codes an order accepts, each with `reason_required`."""
    with _account(settings) as client:
        return _print(po.rejection_codes(client, str(portout_id), codes))


@portouts.command()
@click.option("--status", "statuses", multiple=True, type=click.Choice(po.STATUSES), help="Repeatable.")
@click.option("--phone-number", "numbers", multiple=True, help="Orders with any of these numbers (repeatable).")
@click.option("--customer-reference", "references", multiple=True, help="Repeatable.")
@click.option("--end-user-name")
@click.option("--created-after", help="ISO 8601 date-time.")
@click.option("--created-before", help="ISO 8601 date-time.")
@click.option("--timeout", type=click.FloatRange(0), default=po.REPORT_TIMEOUT, show_default=True,
              help="Seconds to wait for the report.")
@click.pass_obj
def report(settings: CliSettings, statuses: tuple[str, ...], numbers: tuple[str, ...], references: tuple[str, ...],
           end_user_name: str | None, created_after: str | None, created_before: str | None, timeout: float) -> int:
    """Export the matching orders as a CSV report, wait for it, and print it (with its document_id)."""
    wanted = {"status__in": list(statuses), "phone_numbers__overlaps": list(numbers),
              "customer_reference__in": list(references), "end_user_name": end_user_name,
              "created_at__gt": created_after, "created_at__lt": created_before}
    with _account(settings) as client:
        return _print(po.export_portouts(client, {k: v for k, v in wanted.items() if v}, timeout=timeout))
