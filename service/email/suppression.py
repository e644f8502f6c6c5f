"""The suppression list: addresses that are never mailed again.

Hard bounces are added by dispatch when a server rejects the recipient
permanently, and by SendGrid's Event Webhook (hard bounces, drops, spam
reports, unsubscribes: provider_events.py); manual entries come from `flask
email suppress`. Listed and removed through the admin API, the console's
Suppressions page and `flask email suppressions`. Addresses are compared
case-insensitively.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from ..db import insert_if_absent, rows_changed
from ..extensions import db
from ..timeutil import isoformat, utcnow
from .models import Suppression

HARD_BOUNCE, UNSUBSCRIBE, MANUAL = "hard_bounce", "unsubscribe", "manual"
DROPPED, SPAM_REPORT = "dropped", "spam_report"  # reported by SendGrid's Event Webhook
REASONS = (HARD_BOUNCE, UNSUBSCRIBE, MANUAL, DROPPED, SPAM_REPORT)
PAGE_SIZE, MAX_PAGE_SIZE = 100, 1000


def normalize(address: str) -> str:
    return address.strip().lower()


def is_suppressed(address: str) -> bool:
    found = db.session.scalar(
        select(Suppression.address).where(Suppression.address == normalize(address))
    )
    return found is not None


def suppress(address: str, reason: str, detail: str | None = None) -> bool:
    """Add an address (caller commits); True if it was not listed yet."""
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {', '.join(REASONS)}")
    return insert_if_absent(
        Suppression, address=normalize(address), reason=reason, detail=detail, created_at=utcnow()
    )


def unsuppress(address: str) -> bool:
    """Remove an address (caller commits); True if it was listed."""
    return rows_changed(delete(Suppression).where(Suppression.address == normalize(address))) == 1


def page(
    limit: int = PAGE_SIZE,
    after: str | None = None,
    starting: str | None = None,
    reason: str | None = None,
) -> tuple[list[Suppression], str | None]:
    """Suppressions ordered by address, keyset-paged: (rows, next cursor);
    optionally only addresses `starting` with a prefix, or of one `reason`."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = select(Suppression).order_by(Suppression.address).limit(limit + 1)
    if after:
        query = query.where(Suppression.address > after)
    if starting:
        query = query.where(Suppression.address.startswith(normalize(starting), autoescape=True))
    if reason:
        query = query.where(Suppression.reason == reason)
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].address if more else None


def describe(row: Suppression) -> dict[str, Any]:
    return {
        "address": row.address,
        "reason": row.reason,
        "detail": row.detail,
        "created_at": isoformat(row.created_at),
    }
