"""The outbox, its attempt history, and the suppression list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UtcDateTime
from ..extensions import db
from ..timeutil import utcnow

# queued -> delivered | skipped | pending (failed, in the dead-letter queue) -> dead
QUEUED, DELIVERED, SKIPPED, PENDING, DEAD = "queued", "delivered", "skipped", "pending", "dead"
STATUSES = (QUEUED, DELIVERED, SKIPPED, PENDING, DEAD)
DLQ_STATUSES = (PENDING, DEAD)
# Outcomes of one attempt, as counted in email_notifications_total{status}.
FAILED = "failed"
OUTCOMES = (DELIVERED, SKIPPED, FAILED, DEAD)

_ID = BigInteger().with_variant(Integer, "sqlite")
# The dead-letter queue as a partial index: the console and the admin API
# page through it newest first and count it by template without touching
# the (much larger) history of delivered mail. Created by 0007_audit.
IN_DLQ = text("status IN ('pending', 'dead')")
POSTGRESQL_ONLY_INDEXES = frozenset({"ix_email_message_dlq_error"})  # trigram GIN


class EmailMessage(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    __tablename__ = "email_message"
    __table_args__ = (
        # The claim's whole sort key: it reads the first due entry and stops
        # (0008_email_due_index says why the id matters).
        Index("ix_email_message_status_next_id", "status", "next_attempt_at", "id"),
        Index("ix_email_message_status_id", "status", "id"),
        Index("ix_email_message_dlq_id", "id", postgresql_where=IN_DLQ, sqlite_where=IN_DLQ),
        Index(
            "ix_email_message_dlq_template",
            "template",
            "status",
            postgresql_where=IN_DLQ,
            sqlite_where=IN_DLQ,
        ),
        # "Error contains ..." is a substring search: without trigrams a rare
        # one reads every dead letter (~150 ms at 100,000); with them, < 1 ms.
        Index(
            "ix_email_message_dlq_error",
            "last_error",
            postgresql_using="gin",
            postgresql_ops={"last_error": "gin_trgm_ops"},
            postgresql_where=IN_DLQ,
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    template: Mapped[str] = mapped_column(String(64), nullable=False)
    recipient: Mapped[str] = mapped_column(String(320), nullable=False)
    context: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    # A worker owns the message until claimed_until; one that dies loses it then.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The provider's latest word after it accepted the message (SendGrid
    # Event Webhook: delivered, deferred, bounce, ...), and when it said so.
    provider_event: Mapped[str | None] = mapped_column(String(32))
    provider_event_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class EmailAttempt(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    """One send attempt, written in the transaction that records its outcome."""

    __tablename__ = "email_attempt"
    __table_args__ = (Index("ix_email_attempt_message", "message_id", "number"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        _ID, ForeignKey("email_message.id", ondelete="CASCADE"), nullable=False
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    duration_ms: Mapped[float] = mapped_column(Float, nullable=False)
    backend: Mapped[str] = mapped_column(String(16), nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    worker: Mapped[str | None] = mapped_column(String(200))


class Suppression(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    """Addresses never mailed: hard bounces (a permanent recipient rejection
    at send time, or reported later by the provider), drops, spam reports,
    unsubscribes, and manual entries by an operator."""

    __tablename__ = "email_suppression"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)


class SendGate(db.Model):  # type: ignore[name-defined]
    """One row per mail backend, shared by every worker process: the fleet-wide
    send schedule (`next_at`, unix seconds: the next free send slot under
    EMAIL_RATE_LIMIT_PER_SECOND) and a pause the provider asked for (a 429 or
    an SMTP 421) until `paused_until`. Only conditional UPDATEs touch it."""

    __tablename__ = "email_send_gate"

    backend: Mapped[str] = mapped_column(String(16), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    paused_until: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    pause_reason: Mapped[str | None] = mapped_column(String(64))
