"""The outbox rows the demo's events queued, read straight from the database.

The admin API lists only the dead-letter queue (pending and dead letters),
not the mail that went out, so the demo reads `email_message` the way the
worker does: through the service's own models, on the same DATABASE_URL as
`make run` (var/development.sqlite3 by default). Each row's idempotency key
is `<event id>:<template>`, which ties it to the event that caused it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from service.email.models import EmailAttempt, EmailMessage
from service.email.templates import render


def messages(database_url: str, event_ids: list[str]) -> list[dict[str, Any]]:
    """One dict per email the events caused, oldest first, with its last attempt."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with Session(engine) as session:
            keys = [EmailMessage.idempotency_key.like(f"{event_id}:%") for event_id in event_ids]
            rows = session.scalars(select(EmailMessage).where(or_(*keys)).order_by(EmailMessage.id))
            return [_describe(session, row) for row in rows]
    finally:
        engine.dispose()


def _last_attempt(session: Session, message_id: int) -> EmailAttempt | None:
    query = (
        select(EmailAttempt)
        .where(EmailAttempt.message_id == message_id)
        .order_by(EmailAttempt.number.desc())
    )
    return session.scalars(query.limit(1)).first()


def _describe(session: Session, row: EmailMessage) -> dict[str, Any]:
    attempt = _last_attempt(session, row.id)
    try:
        content = render(row.template, row.context)
        subject, body = content.subject, _body(content.text)
    except Exception as exc:  # the worker will say the same when it tries
        subject, body = f"(does not render: {type(exc).__name__})", []
    return {
        "event_id": row.idempotency_key.partition(":")[0],
        "template": row.template,
        "recipient": row.recipient,
        "status": row.status,
        "attempts": row.attempts,
        "error": row.last_error,
        "backend": attempt.backend if attempt else None,
        "subject": subject,
        "body": body,
    }


def _body(text: str) -> list[str]:
    """What the email says: its text without the greeting, the blank lines and
    the footer (after the `--` line). Printed by the report because a log
    line is no place to read an email: with one record per line (JSON, or
    text logs that escape line breaks) the console backend's copy is one
    long line."""
    lines = [line.rstrip() for line in text.split("\n--\n")[0].splitlines()]
    return [line for line in lines if line.strip() and not line.startswith("Hi ")]
