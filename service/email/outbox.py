"""Writing to the outbox, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..timeutil import utcnow
from .models import QUEUED, EmailMessage


def enqueue(
    idempotency_key: str, template: str, recipient: str, context: Mapping[str, Any]
) -> bool:
    """Queue one email unless its idempotency key exists; True if it was new.

    The caller commits: the message exists exactly when the change that
    caused it does.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    result = db.session.execute(
        insert(EmailMessage)
        .values(
            idempotency_key=idempotency_key,
            template=template,
            recipient=recipient,
            context=dict(context),
            status=QUEUED,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return result.rowcount == 1
