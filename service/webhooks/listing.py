"""Stored events for operators: filtered, newest first, keyset-paginated."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from ..errors import ApiError
from ..extensions import db
from ..timeutil import as_utc, isoformat
from .models import STATUSES, WebhookEvent

MAX_LIMIT = 200


def encode_cursor(row: WebhookEvent) -> str:
    raw = json.dumps([isoformat(row.received_at), row.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, event_id = json.loads(raw)
        return as_utc(datetime.fromisoformat(stamp)), str(event_id)
    except (ValueError, TypeError, binascii.Error):
        raise ApiError(400, "invalid_cursor", "The cursor is not one this API gave out.") from None


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
    query = _filtered(status, event_type)
    if cursor:
        stamp, event_id = decode_cursor(cursor)
        query = query.where(
            or_(
                WebhookEvent.received_at < stamp,
                and_(WebhookEvent.received_at == stamp, WebhookEvent.id < event_id),
            )
        )
    query = query.order_by(WebhookEvent.received_at.desc(), WebhookEvent.id.desc())
    rows = list(db.session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1]) if more else None)


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
