"""The outbox and its state transitions.

`enqueue` writes a message inside the caller's transaction. The rest is what
dispatch does to a message: claim ONE message right before sending it
(`claim_one`: a single UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP
LOCKED LIMIT 1) RETURNING, which also reports whether the recipient is
suppressed and the `email` breaker's state, so no extra reads are needed),
give a claim back, and write an outcome together with its attempt row and
its count in email_notifications_total (`write_outcome`). Dispatch commits
an outcome and the claim of the next message in one transaction: one commit
per message, the floor for "a crash re-sends at most the message in flight"
(see README, "Email dispatch"). On SQLite every transaction holds the write
lock, which serializes claims.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, exists, func, insert, or_, select, update

from ..circuits.models import Circuit
from ..db import insert_if_absent, rows_changed
from ..extensions import db
from ..jobstate import counters
from ..redaction import error_text
from ..timeutil import as_utc, utcnow
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
    Suppression,
)
from .recipients import INVALID_RECIPIENT, MAX_ADDRESS_LENGTH, parse_recipient

log = logging.getLogger(__name__)


_MESSAGES = EmailMessage.__table__
_ATTEMPTS = EmailAttempt.__table__
_SUPPRESSIONS = Suppression.__table__
_CIRCUITS = Circuit.__table__


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
    created_at: datetime | None = None
    suppressed: bool = False
    # The `email` breaker as the claim saw it: dispatch asks the breaker
    # itself only when it was not plainly closed with no failures.
    circuit_clean: bool = True

    @classmethod
    def from_row(cls, row: Any) -> Claimed:
        """From a claim statement's row (the ORM claim and the PostgreSQL fast path)."""
        return cls(
            row.id,
            row.idempotency_key,
            row.template,
            row.recipient,
            dict(row.context or {}),
            row.status,
            row.attempts,
            as_utc(row.created_at),
            bool(row.suppressed),
            bool(row.circuit_clean),
        )


@dataclass
class Outcome:
    status: str  # delivered, skipped, failed or dead: email_notifications_total{status}
    error: str | None = None
    provider_message_id: str | None = None
    hard_bounce: bool = False
    closed_circuit: bool = False
    started_at: datetime = field(default_factory=utcnow)
    duration_ms: float = 0.0
    # Why a skipped message was skipped: suppressed, expired, console.
    skip_reason: str | None = None


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


def claim_one(status: str, worker: str) -> Claimed | None:
    """Claim the next due message in `status` for one send (caller commits).

    Core statements on the tables, not ORM-enabled ones: this and
    `write_outcome` run once per message, and the ORM's bulk-update path
    costs more than the statement itself.
    """
    now = utcnow()
    m = _MESSAGES.c
    due = and_(
        m.status == status,
        or_(m.next_attempt_at.is_(None), m.next_attempt_at <= now),
        or_(m.claimed_until.is_(None), m.claimed_until < now),
    )
    pick = (
        select(m.id)
        .where(due)
        .order_by(m.next_attempt_at, m.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    suppressed = exists().where(_SUPPRESSIONS.c.address == func.lower(func.trim(m.recipient)))
    circuit = _CIRCUITS.c
    circuit_clean = exists().where(
        circuit.name == "email", circuit.state == "closed", circuit.consecutive_failures == 0
    )
    row = db.session.execute(
        update(_MESSAGES)
        .where(m.id == pick)
        .values(claimed_by=worker, claimed_until=now + timedelta(seconds=claim_seconds()))
        .returning(
            m.id,
            m.idempotency_key,
            m.template,
            m.recipient,
            m.context,
            m.status,
            m.attempts,
            m.created_at,
            suppressed.label("suppressed"),
            circuit_clean.label("circuit_clean"),
        )
    ).first()
    if row is None:
        return None
    return Claimed.from_row(row)


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
    if not write_outcome(message, outcome, worker, backend):
        return False
    db.session.commit()
    return True


def write_outcome(message: Claimed, outcome: Outcome, worker: str, backend: str) -> bool:
    """Write the outcome, its attempt row and its count (caller commits);
    False (and rolled back) when another worker recorded one first."""
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
    elif outcome.status == SKIPPED and error:
        values.update(last_error=error)
    # Conditional on what we claimed: a late worker cannot overwrite an
    # outcome another worker already recorded.
    m = _MESSAGES.c
    updated = rows_changed(
        update(_MESSAGES)
        .where(m.id == message.id, m.status == message.status, m.attempts == message.attempts)
        .values(**values)
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
    # Core INSERT, not the ORM: no unit-of-work flush on the hot path.
    db.session.execute(
        insert(_ATTEMPTS).values(
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
    if outcome.skip_reason:
        counters.increment("email_skipped_total", {"reason": outcome.skip_reason})
    if outcome.hard_bounce:
        suppression.suppress(message.recipient, suppression.HARD_BOUNCE, error)
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
