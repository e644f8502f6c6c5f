"""Run stored failed events again (admin API and `flask webhooks reprocess`).

Idempotent like a delivery: an event that is no longer failed is left as it
is, and two operators reprocessing at once apply it once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..errors import ApiError
from ..extensions import db
from .event import from_payload
from .models import WebhookEvent
from .processing import process
from .statuses import FAILED

UNCHANGED = "unchanged"  # it was not failed: nothing to do


@dataclass(frozen=True)
class Reprocessed:
    event_id: str
    result: str  # processed | ignored | failed | unchanged
    error: str | None = None


def reprocess(event_id: str) -> Reprocessed | None:
    """None when no such event is stored."""
    row = db.session.get(WebhookEvent, event_id, populate_existing=True)
    if row is None or row.status != FAILED:
        db.session.commit()
        return None if row is None else Reprocessed(event_id, UNCHANGED)
    event, digest = from_payload(row.payload), row.content_hash
    db.session.commit()
    outcome = process(event, digest)
    # A concurrent reprocess (or Stripe's retry) won the race: same as unchanged.
    result = UNCHANGED if outcome.result == "duplicate" else outcome.result
    return Reprocessed(event_id, result, outcome.error)


def reprocess_known(event_id: str) -> Reprocessed:
    """reprocess() for an operator's request (admin API, console): unknown is a 404."""
    outcome = reprocess(event_id)
    if outcome is None:
        raise ApiError(404, "unknown_event", f"No stored webhook event {event_id!r}.")
    return outcome


def tally(results: list[Reprocessed]) -> dict[str, int]:
    """How many of each result, e.g. {"processed": 3, "failed": 1}."""
    counts: dict[str, int] = {}
    for item in results:
        counts[item.result] = counts.get(item.result, 0) + 1
    return counts


def failed_ids(limit: int) -> list[str]:
    ids = list(
        db.session.scalars(
            select(WebhookEvent.id)
            .where(WebhookEvent.status == FAILED)
            .order_by(WebhookEvent.received_at, WebhookEvent.id)
            .limit(limit)
        )
    )
    db.session.commit()
    return ids


def reprocess_failed(limit: int = 100) -> list[Reprocessed]:
    """Oldest failed events first, one transaction each."""
    results = []
    for event_id in failed_ids(limit):
        outcome = reprocess(event_id)
        if outcome is not None:
            results.append(outcome)
    return results
