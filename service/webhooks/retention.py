"""Pruning of stored events past the retention age."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete

from ..db import rows_changed
from ..timeutil import utcnow
from .models import WebhookEvent
from .statuses import IGNORED, PROCESSED

# Stripe retries a delivery for up to three days: the row that deduplicates
# it must outlive that, whatever RETENTION_DAYS says.
MIN_KEEP = timedelta(days=4)


def prune_webhook_events(cutoff: datetime) -> int:
    """Delete processed and ignored events received before `cutoff`.

    Failed ones stay until someone reprocesses them.
    """
    cutoff = min(cutoff, utcnow() - MIN_KEEP)
    return rows_changed(
        delete(WebhookEvent).where(
            WebhookEvent.status.in_((PROCESSED, IGNORED)), WebhookEvent.received_at < cutoff
        )
    )
