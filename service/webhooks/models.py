"""Stored Stripe events: one row per event id, whatever became of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UtcDateTime
from ..extensions import db
from ..timeutil import utcnow


class WebhookEvent(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    __tablename__ = "webhook_event"
    __table_args__ = (
        Index("ix_webhook_event_status_received", "status", "received_at", "id"),
        Index("ix_webhook_event_type_received", "type", "received_at", "id"),
        Index("ix_webhook_event_received", "received_at", "id"),
    )

    # The primary key is the deduplication: two copies of one event cannot
    # both be stored, however concurrently they arrive.
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    created: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    livemode: Mapped[bool] = mapped_column(Boolean, nullable=False)
    api_version: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)
    # sha256 of the canonical payload (see verify.content_hash): a copy with
    # another body under the same id is told apart from a redelivery.
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )
