"""`flask webhooks reprocess ID` / `flask webhooks reprocess --failed`."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from .reprocess import Reprocessed, reprocess, reprocess_failed
from .statuses import FAILED

webhooks_cli = AppGroup("webhooks", help="Inspect and re-run stored Stripe events.")


def _echo(item: Reprocessed) -> None:
    click.echo(json.dumps({"id": item.event_id, "result": item.result, "error": item.error}))


@webhooks_cli.command("reprocess")
@click.argument("event_id", required=False)
@click.option("--failed", "all_failed", is_flag=True, help="Every event stored as failed.")
@click.option("--limit", default=100, show_default=True, help="At most this many (--failed).")
def reprocess_command(event_id: str | None, all_failed: bool, limit: int) -> None:
    """Run one stored event (ID) or all failed ones again; exit 1 if any still fails."""
    if bool(event_id) == all_failed:
        raise click.UsageError("give an event ID or --failed (not both)")
    if event_id:
        outcome = reprocess(event_id)
        if outcome is None:
            raise click.ClickException(f"no stored webhook event {event_id!r}")
        results = [outcome]
    else:
        results = reprocess_failed(limit)
    for item in results:
        _echo(item)
    if not results:
        click.echo("no failed events")
    raise SystemExit(1 if any(item.result == FAILED for item in results) else 0)
