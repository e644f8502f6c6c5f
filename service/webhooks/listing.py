"""Stored events for operators: filtered, newest first, keyset-paginated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from ..errors import ApiError
from ..extensions import db
from ..paging import keyset_page, parse_limit
from ..timeutil import isoformat
from .models import WebhookEvent
from .statuses import STATUSES

DEFAULT_LIMIT, MAX_LIMIT = 50, 200
KEY = (WebhookEvent.received_at, WebhookEvent.id)


def _filtered(status: str | None, event_type: str | None) -> Select:
    query = select(WebhookEvent)
    if status is not None:
        if status not in STATUSES:
            raise ApiError(400, "invalid_status", f"status must be one of {', '.join(STATUSES)}.")
        query = query.where(WebhookEvent.status == status)
    if event_type:
        query = query.where(WebhookEvent.type == event_type)
    return query


def list_events(
    status: str | None, event_type: str | None, limit: int, cursor: str | None
) -> tuple[list[WebhookEvent], str | None]:
    """Newest first; `limit` outside 1..MAX_LIMIT is a 400 (service/paging.py's rule)."""
    limit = parse_limit(limit, DEFAULT_LIMIT, MAX_LIMIT)
    return keyset_page(_filtered(status, event_type), KEY, limit, cursor)


def results_since(since: datetime) -> dict[str, int]:
    """Stored events received since `since`, by status (the console's overview)."""
    rows = db.session.execute(
        select(WebhookEvent.status, func.count())
        .where(WebhookEvent.received_at >= since)
        .group_by(WebhookEvent.status)
    )
    found = dict(rows.all())
    return {status: int(found.get(status, 0)) for status in STATUSES}


def count_status(status: str) -> int:
    query = select(func.count()).select_from(WebhookEvent).where(WebhookEvent.status == status)
    return int(db.session.scalar(query) or 0)


def summary(row: WebhookEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "type": row.type,
        "status": row.status,
        "created": isoformat(row.created),
        "livemode": row.livemode,
        "attempts": row.attempts,
        "error": row.error,
        "received_at": isoformat(row.received_at),
        "processed_at": isoformat(row.processed_at),
    }


def detail(row: WebhookEvent) -> dict[str, Any]:
    return {
        **summary(row),
        "api_version": row.api_version,
        "updated_at": isoformat(row.updated_at),
        "payload": row.payload,
    }
