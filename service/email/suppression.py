"""The suppression list: addresses that are never mailed again.

Hard bounces are added by dispatch when a server rejects the recipient
permanently; unsubscribes and manual entries come from `flask email
suppress`. Addresses are compared case-insensitively.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from ..db import insert_if_absent, rows_changed
from ..extensions import db
from ..timeutil import utcnow
from .models import Suppression

HARD_BOUNCE, UNSUBSCRIBE, MANUAL = "hard_bounce", "unsubscribe", "manual"
REASONS = (HARD_BOUNCE, UNSUBSCRIBE, MANUAL)


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
