"""One event, start to end: deduplicate, fetch what is missing, apply, store.

The event row and everything the event changes (billing state, outbox
rows) commit in one transaction (a `core_transaction`: one connection, no
ORM session), claimed by inserting the row first: the
primary key lets exactly one of several concurrent copies through, and the
others, blocked on it, then find it stored and answer `duplicate`. A failed
attempt rolls back completely and is then recorded on its own as `failed`,
so a later delivery or an operator can run it again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import (
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..billing import customers
from ..billing.stripe_api import RemoteCustomer
from ..db import DatabaseTimeout, conflict_insert, core_transaction, execute, insert_ignoring
from ..extensions import db
from ..redaction import error_text
from ..timeutil import utcnow
from . import handlers
from .event import StripeEvent
from .models import WebhookEvent
from .outcomes import WebhookError, payload_mismatch
from .statuses import DUPLICATE, FAILED, IGNORED, PROCESSED

log = logging.getLogger(__name__)
CONFLICT_RETRIES = 3
DATABASE_UNAVAILABLE = (
    DatabaseTimeout,
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeout,
)


@dataclass(frozen=True)
class Outcome:
    result: str  # processed | ignored | duplicate | failed
    error: str | None = None


class _Conflict(Exception):
    """Lost a race for a row another transaction created; try again."""


class _Duplicate(Exception):
    """The event is stored already (and not failed): roll back, answer duplicate."""


def _insert() -> postgresql.Insert | sqlite.Insert:
    return conflict_insert(WebhookEvent)


def _mismatch(event_id: str) -> WebhookError:
    return payload_mismatch(f"Event {event_id} is already stored with a different body.")


def stored_status(event_id: str, digest: str) -> str | None:
    """Status of the stored copy (None if none); a different body is refused."""
    row = db.session.get(WebhookEvent, event_id, populate_existing=True)
    found = None if row is None else (row.status, row.content_hash)
    db.session.commit()
    if found is not None and found[1] != digest:
        raise _mismatch(event_id)
    return found[0] if found else None


def describe_error(exc: BaseException) -> str:
    # A database error's own text, without SQLAlchemy's statement and
    # parameters (customer data) appended.
    cause = exc.orig if isinstance(exc, StatementError) and exc.orig is not None else exc
    return error_text(cause)


def record_failure(event: StripeEvent, digest: str, exc: BaseException) -> Outcome:
    """Store the event as failed, in its own transaction, unless a concurrent
    copy has processed it meanwhile (then that copy's result stands)."""
    error, now = describe_error(exc), utcnow()
    values = {**_row_values(event, digest, FAILED, now), "error": error, "processed_at": None}
    statement = _insert().values(**values)
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["id"],
            set_={"error": error, "attempts": WebhookEvent.attempts + 1, "updated_at": now},
            where=WebhookEvent.status == FAILED,
        )
    )
    db.session.commit()
    log.warning("stripe event %s (%s) failed: %s", event.id, event.type, error)
    return Outcome(FAILED, error)


def _row_values(event: StripeEvent, digest: str, status: str, now: object) -> dict:
    return {
        "id": event.id,
        "type": event.type,
        "created": event.created_at,
        "livemode": event.livemode,
        "api_version": event.api_version,
        "payload": event.payload,
        "content_hash": digest,
        "status": status,
        "attempts": 1,
        "received_at": now,
        "updated_at": now,
        "processed_at": now,
    }


def _claim(event: StripeEvent, digest: str, status: str) -> bool:
    """Insert the row; False when it exists (or a concurrent copy holds it)."""
    # RETURNING, not rowcount: SQLAlchemy only promises rowcount for UPDATE
    # and DELETE (with psycopg an INSERT reports -1).
    statement = insert_ignoring(WebhookEvent.__table__, ("id",))
    values = _row_values(event, digest, status, utcnow())
    return execute(statement, values).first() is not None


def _take_over_failed(event: StripeEvent, digest: str, status: str) -> bool:
    """The row exists: lock it; True when it is a failed one to run again."""
    table = WebhookEvent.__table__
    row = execute(
        select(table.c.status, table.c.content_hash).where(table.c.id == event.id).with_for_update()
    ).first()
    if row is None:  # pruned between our insert and this read
        raise _Conflict(event.id)
    if row.content_hash != digest:
        raise _mismatch(event.id)
    if row.status != FAILED:
        return False
    now = utcnow()
    execute(
        update(table)
        .where(table.c.id == event.id)
        .values(
            status=status,
            error=None,
            attempts=table.c.attempts + 1,
            processed_at=now,
            updated_at=now,
        )
    )
    return True


def _apply(
    event: StripeEvent, digest: str, fetched: RemoteCustomer | None, deadline: float | None
) -> Outcome:
    """Claim and apply in one transaction; raising anywhere rolls all of it back."""
    handler = handlers.find(event.type)
    status = PROCESSED if handler else IGNORED
    try:
        with core_transaction():
            if not _claim(event, digest, status) and not _take_over_failed(event, digest, status):
                raise _Duplicate(event.id)
            if fetched is not None:
                customers.remember(fetched)
            if handler is not None:
                handler.apply(event)
            if deadline is not None and time.monotonic() > deadline:
                # The caller already answered 503 and Stripe will retry: committing
                # now would apply an event nobody acknowledged.
                raise DatabaseTimeout("gave up waiting for the database")
    except _Duplicate:
        return Outcome(DUPLICATE)
    return Outcome(status)


class _AlreadyDone(Exception):
    """The event is stored as processed or ignored: a redelivery."""


def _prefetch(event: StripeEvent, digest: str) -> RemoteCustomer | None:
    customer_id = handlers.customer_to_fetch(event)
    if customer_id is None:
        return None
    if stored_status(event.id, digest) in (PROCESSED, IGNORED):  # commits: ends the read
        raise _AlreadyDone(event.id)
    return customers.lookup(customer_id)  # the breaker commits on its own


def process(event: StripeEvent, digest: str, deadline: float | None = None) -> Outcome:
    """Apply `event` once. Database trouble propagates (the caller answers 503).

    An event whose recipient is in its payload (or stored) goes straight to
    the one transaction that claims and applies it: the claim itself tells a
    redelivery apart (see _apply), so reading the stored copy first would be
    a second round trip and commit for nothing. Only an event that needs the
    Stripe API reads first, so a redelivery never costs an API call.
    """
    try:
        fetched = _prefetch(event, digest)
    except _AlreadyDone:
        return Outcome(DUPLICATE)
    except customers.CustomerLookupError as exc:
        return record_failure(event, digest, exc)
    except Exception as exc:
        db.session.rollback()
        if is_database_unavailable(exc):
            raise
        log.exception("stripe event %s (%s): customer lookup raised", event.id, event.type)
        return record_failure(event, digest, exc)
    for attempt in range(1, CONFLICT_RETRIES + 1):
        try:
            return _apply(event, digest, fetched, deadline)
        except (IntegrityError, _Conflict) as exc:
            # Two events created the same new object concurrently; the loser
            # retries and now finds the row (warehouse does the same).
            if attempt == CONFLICT_RETRIES:
                return record_failure(event, digest, exc)
        except Exception as exc:
            if is_database_unavailable(exc) or isinstance(exc, WebhookError):
                raise
            log.exception("stripe event %s (%s): handler raised", event.id, event.type)
            return record_failure(event, digest, exc)
    raise AssertionError("unreachable")


def is_database_unavailable(exc: BaseException) -> bool:
    """Errors that say the database is gone, hung or refusing work (lock and
    statement timeouts included): the answer is 503, and Stripe retries."""
    return isinstance(exc, DATABASE_UNAVAILABLE)
