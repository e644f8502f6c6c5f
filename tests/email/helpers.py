"""Writing to the outbox and reading it back, for the email tests."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from service.email.models import EmailAttempt, EmailMessage
from service.email.outbox import enqueue
from service.extensions import db
from service.jobstate import counters
from service.timeutil import utcnow

RECEIPT = {"customer_name": "Ada", "amount_paid": 4900, "currency": "usd", "invoice_number": "I-1"}


def queue(
    count: int = 1,
    template: str = "receipt",
    recipient: str = "ada@example.com",
    prefix: str = "evt",
) -> list[int]:
    """Enqueue `count` messages in one committed transaction; returns their ids."""
    keys = [f"{prefix}_{n}:{template}" for n in range(count)]
    for key in keys:
        enqueue(key, template, recipient, RECEIPT)
    db.session.commit()
    ids = db.session.scalars(
        select(EmailMessage.id)
        .where(EmailMessage.idempotency_key.in_(keys))
        .order_by(EmailMessage.id)
    ).all()
    db.session.commit()
    return list(ids)


def message(message_id: int) -> EmailMessage:
    """A detached copy: reading it opens no transaction (on SQLite, a write
    lock the breaker's own connection would wait for)."""
    found = db.session.get(EmailMessage, message_id, populate_existing=True)
    db.session.expunge(found)
    db.session.commit()
    return found


def statuses() -> dict[int, str]:
    rows = db.session.execute(select(EmailMessage.id, EmailMessage.status)).all()
    db.session.commit()
    return dict(rows)


def make_due(*ids: int) -> None:
    """Pretend the backoff has passed."""
    query = update(EmailMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1))
    if ids:
        query = query.where(EmailMessage.id.in_(ids))
    db.session.execute(query)
    db.session.commit()


def attempt_rows() -> int:
    count = db.session.scalar(select(func.count()).select_from(EmailAttempt))
    db.session.commit()
    return count


def notifications(template: str = "receipt") -> dict[str, float]:
    values = {
        status: counters.value(
            "email_notifications_total", {"template": template, "status": status}
        )
        for status in ("delivered", "skipped", "failed", "dead")
    }
    db.session.commit()
    return values
