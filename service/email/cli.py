"""`flask dlq ...` and `flask email ...`: the admin API's logic, from a shell."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from ..errors import ApiError
from ..extensions import db
from . import dlq, suppression
from .models import DEAD, PENDING
from .samples import SAMPLES
from .templates import TEMPLATES, render

dlq_cli = AppGroup("dlq", help="Inspect and replay the email dead-letter queue.")
email_cli = AppGroup("email", help="Manage the email suppression list; preview templates.")
suppressions_cli = AppGroup("suppressions", help="List and remove suppressed addresses.")
email_cli.add_command(suppressions_cli)


def _fail(exc: ApiError) -> None:
    raise click.ClickException(exc.message)


@dlq_cli.command("list")
@click.option("--status", type=click.Choice([PENDING, DEAD]), help="Only this status.")
@click.option("--template", help="Only this template.")
@click.option("--limit", default=dlq.PAGE_SIZE, show_default=True, help="Rows per page.")
@click.option("--cursor", help="Continue after a previous page.")
def list_command(status: str | None, template: str | None, limit: int, cursor: str | None) -> None:
    """Dead letters, newest first."""
    try:
        rows, next_cursor = dlq.page(dlq.Filter.parse(status, template), limit, cursor)
    except ApiError as exc:
        _fail(exc)
    for row in rows:
        error = (row.last_error or "").replace("\n", " ")[:80]
        click.echo(f"{row.id}\t{row.status}\t{row.template}\t{row.attempts}\t{error}")
    click.echo(f"{dlq.counts()}" + (f"; next page: --cursor {next_cursor}" if next_cursor else ""))


@dlq_cli.command("show")
@click.argument("message_id", type=int)
def show_command(message_id: int) -> None:
    """One message with its attempt history (JSON)."""
    try:
        click.echo(json.dumps(dlq.detail(dlq.get(message_id)), indent=2))
    except ApiError as exc:
        _fail(exc)


@dlq_cli.command("replay")
@click.argument("message_id", type=int, required=False)
@click.option("--all-pending", is_flag=True, help="Replay every pending message.")
@click.option("--status", type=click.Choice([PENDING, DEAD]), help="Replay every such message.")
@click.option("--template", help="With --all-pending/--status: only this template.")
def replay_command(
    message_id: int | None, all_pending: bool, status: str | None, template: str | None
) -> None:
    """Put MESSAGE_ID (or every match) back in the send queue with fresh attempts."""
    if all_pending:
        status = status or PENDING
        if status != PENDING:
            raise click.UsageError("--all-pending and --status dead contradict each other")
    if (message_id is None) == (status is None):
        raise click.UsageError("give one MESSAGE_ID, or --all-pending, or --status")
    try:
        if message_id is not None:
            message = dlq.replay(message_id)
            click.echo(f"email {message.id}: {message.status}")
        else:
            result = dlq.replay_matching(dlq.Filter.parse(status, template))
            click.echo(f"replayed {result['replayed']}; in flight {result['in_flight']}")
    except ApiError as exc:
        _fail(exc)


@email_cli.command("suppress")
@click.argument("address")
@click.option(
    "--reason",
    type=click.Choice(suppression.REASONS),
    default=suppression.UNSUBSCRIBE,
    show_default=True,
)
def suppress_command(address: str, reason: str) -> None:
    """Never mail ADDRESS again (its messages are skipped)."""
    added = suppression.suppress(address, reason)
    db.session.commit()
    click.echo(f"{address}: {'suppressed' if added else 'already suppressed'}")


@email_cli.command("unsuppress")
@click.argument("address")
def unsuppress_command(address: str) -> None:
    """Take ADDRESS off the suppression list."""
    removed = suppression.unsuppress(address)
    db.session.commit()
    click.echo(f"{address}: {'removed' if removed else 'was not suppressed'}")


@suppressions_cli.command("list")
@click.option("--limit", default=suppression.PAGE_SIZE, show_default=True, help="Rows per page.")
@click.option("--cursor", help="Continue after a previous page.")
def suppressions_list_command(limit: int, cursor: str | None) -> None:
    """Suppressed addresses with reason and time."""
    rows, next_cursor = suppression.page(limit, cursor)
    for row in rows:
        entry = suppression.describe(row)
        click.echo(f"{entry['address']}\t{entry['reason']}\t{entry['created_at']}")
    if next_cursor:
        click.echo(f"next page: --cursor {next_cursor}")


@suppressions_cli.command("remove")
@click.argument("address")
def suppressions_remove_command(address: str) -> None:
    """Take ADDRESS off the suppression list."""
    removed = suppression.unsuppress(address)
    db.session.commit()
    if not removed:
        raise click.ClickException(f"{address} is not suppressed")
    click.echo(f"{address}: removed")


@email_cli.command("preview")
@click.argument("template", type=click.Choice(TEMPLATES))
@click.option("--part", type=click.Choice(["text", "html", "all"]), default="all")
def preview_command(template: str, part: str) -> None:
    """Render TEMPLATE with sample data."""
    email = render(template, SAMPLES[template])
    if part in ("text", "all"):
        click.echo(f"Subject: {email.subject}\n\n{email.text}")
    if part in ("html", "all"):
        click.echo(email.html)
