"""The outbox and its state transitions.

`enqueue` writes a message inside the caller's transaction. The rest is what
dispatch does to a message, each step one committed transaction: claim a
batch (FOR UPDATE SKIP LOCKED on PostgreSQL; on SQLite every transaction
holds the write lock, which serializes claims), renew a claim right before a
send, give claims back, and record an outcome together with its attempt row
and its count in email_notifications_total.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, or_, select, update

from ..db import insert_if_absent, rows_changed
from ..extensions import db
from ..jobstate import counters
from ..redaction import error_text
from ..timeutil import utcnow
from . import suppression
from .models import (
    DEAD,
    DELIVERED,
    FAILED,
    PENDING,
    QUEUED,
    SKIPPED,
    EmailAttempt,
    EmailMessage,
)
from .recipients import INVALID_RECIPIENT, MAX_ADDRESS_LENGTH, parse_recipient

log = logging.getLogger(__name__)


def claim_seconds() -> float:
    """EMAIL_CLAIM_SECONDS (default 40): long enough for one send (the SMTP
    timeout is 10 s per operation), short enough that a dead worker's
    messages go out again within a minute."""
    return current_app.config["SETTINGS"].email_claim_seconds


def enqueue(
    idempotency_key: str, template: str, recipient: str, context: Mapping[str, Any]
) -> bool:
    """Queue one email unless its idempotency key exists; True if it was new.

    The caller commits: the message exists exactly when the change that
    caused it does. A recipient that is not exactly one address is stored
    `skipped` with the reason `invalid_recipient` (the event that caused it
    is still processed; nothing is sent).
    """
    now = utcnow()
    address = parse_recipient(recipient)
    new = insert_if_absent(
        EmailMessage,
        conflict=["idempotency_key"],
        idempotency_key=idempotency_key,
        template=template,
        recipient=address or recipient[:MAX_ADDRESS_LENGTH],
        context=dict(context),
        status=QUEUED if address else SKIPPED,
        attempts=0,
        next_attempt_at=now if address else None,
        last_error=None if address else f"{INVALID_RECIPIENT}: not exactly one address",
        created_at=now,
        updated_at=now,
    )
    if new and address is None:
        log.warning("email %s not queued: %s", idempotency_key, INVALID_RECIPIENT)
        counters.increment("email_notifications_total", {"template": template, "status": SKIPPED})
    return new


@dataclass(frozen=True)
class Claimed:
    """A claimed message as read at claim time (no session attached)."""

    id: int
    idempotency_key: str
    template: str
    recipient: str
    context: dict[str, Any]
    status: str
    attempts: int


@dataclass
class Outcome:
    status: str  # delivered, skipped, failed or dead: email_notifications_total{status}
    error: str | None = None
    provider_message_id: str | None = None
    hard_bounce: bool = False
    closed_circuit: bool = False
    started_at: datetime = field(default_factory=utcnow)
    duration_ms: float = 0.0


def retry_delay(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2^(n-1)))."""
    return random.uniform(0, min(cap, base * 2 ** max(attempts - 1, 0)))


def _claim_is_free(now: datetime) -> Any:
    return or_(EmailMessage.claimed_until.is_(None), EmailMessage.claimed_until < now)


def claim(status: str, limit: int, worker: str) -> list[Claimed]:
    """Claim up to `limit` due messages in `status`; commits."""
    now = utcnow()
    due = and_(
        EmailMessage.status == status,
        or_(EmailMessage.next_attempt_at.is_(None), EmailMessage.next_attempt_at <= now),
        _claim_is_free(now),
    )
    rows = db.session.scalars(
        select(EmailMessage)
        .where(due)
        .order_by(EmailMessage.next_attempt_at, EmailMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    claimed = [
        Claimed(
            r.id,
            r.idempotency_key,
            r.template,
            r.recipient,
            dict(r.context or {}),
            r.status,
            r.attempts,
        )
        for r in rows
    ]
    if claimed:
        db.session.execute(
            update(EmailMessage)
            .where(EmailMessage.id.in_([c.id for c in claimed]))
            .values(claimed_by=worker, claimed_until=now + timedelta(seconds=claim_seconds()))
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return claimed


def renew(message: Claimed, worker: str) -> bool:
    """Extend our claim before a send; False if another worker has it now."""
    renewed = rows_changed(
        update(EmailMessage)
        .where(
            EmailMessage.id == message.id,
            EmailMessage.claimed_by == worker,
            EmailMessage.status == message.status,
        )
        .values(claimed_until=utcnow() + timedelta(seconds=claim_seconds()))
        .execution_options(synchronize_session=False)
    )
    return renewed == 1


def release(ids: list[int], worker: str) -> None:
    """Give back claims without spending an attempt (the breaker said no)."""
    if ids:
        db.session.execute(
            update(EmailMessage)
            .where(EmailMessage.id.in_(ids), EmailMessage.claimed_by == worker)
            .values(claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


def _new_status(outcome: Outcome) -> str:
    return PENDING if outcome.status == FAILED else outcome.status


def record(message: Claimed, outcome: Outcome, worker: str, backend: str) -> bool:
    """Commit the outcome, its attempt row and its count together."""
    settings = current_app.config["SETTINGS"]
    now = utcnow()
    number = message.attempts + 1
    error = error_text(outcome.error) if outcome.error else None
    values: dict[str, Any] = {
        "status": _new_status(outcome),
        "attempts": number,
        "claimed_by": None,
        "claimed_until": None,
        "updated_at": now,
    }
    if outcome.status == DELIVERED:
        values.update(delivered_at=now, provider_message_id=outcome.provider_message_id)
    elif outcome.status == FAILED:
        delay = retry_delay(
            number, settings.email_retry_base_seconds, settings.email_retry_max_seconds
        )
        values.update(last_error=error, next_attempt_at=now + timedelta(seconds=delay))
    elif outcome.status == DEAD:
        values.update(last_error=error, next_attempt_at=None)
    # Conditional on what we claimed: a late worker cannot overwrite an
    # outcome another worker already recorded.
    updated = rows_changed(
        update(EmailMessage)
        .where(
            EmailMessage.id == message.id,
            EmailMessage.status == message.status,
            EmailMessage.attempts == message.attempts,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if updated != 1:
        db.session.rollback()
        log.warning(
            "email %s: outcome %s not recorded (already recorded elsewhere)",
            message.id,
            outcome.status,
            extra={"email_id": message.id},
        )
        return False
    db.session.add(
        EmailAttempt(
            message_id=message.id,
            number=number,
            outcome=outcome.status,
            started_at=outcome.started_at,
            duration_ms=outcome.duration_ms,
            backend=backend,
            error=error,
            provider_message_id=outcome.provider_message_id,
            worker=worker,
        )
    )
    counters.increment(
        "email_notifications_total", {"template": message.template, "status": outcome.status}
    )
    if outcome.hard_bounce:
        suppression.suppress(message.recipient, suppression.HARD_BOUNCE, error)
    db.session.commit()
    return True


def wake_pending() -> int:
    """The provider works again: retry the dead-letter queue now, not at its
    backoff (up to EMAIL_RETRY_MAX_SECONDS away). Commits."""
    now = utcnow()
    woken = rows_changed(
        update(EmailMessage)
        .where(EmailMessage.status == PENDING, EmailMessage.next_attempt_at > now)
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return woken


def prune_sent(cutoff: datetime) -> int:
    """Delete delivered and skipped mail last touched before `cutoff` (caller
    commits). Dead letters stay until an operator replays them."""
    return rows_changed(
        delete(EmailMessage).where(
            EmailMessage.status.in_((DELIVERED, SKIPPED)), EmailMessage.updated_at < cutoff
        )
    )
