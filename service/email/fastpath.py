"""PostgreSQL: a delivered outcome and the next claim in ONE statement.

The common case of dispatch — a message delivered, the queue not empty — is
what `make bench` measures against plain smtplib. On PostgreSQL it is one
statement: data-modifying CTEs record the outcome (status, attempt row,
email_notifications_total) and claim the next due message (FOR UPDATE SKIP
LOCKED), then one COMMIT. Same writes, same conditions and same crash
guarantee as `outbox.write_outcome` followed by `outbox.claim_one` (which
SQLite, and every other outcome, still use); one round trip instead of four.
All parts of the statement see one snapshot, so the next claim excludes the
message just recorded by id.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from ..jobstate.counters import labels_key, shard
from ..timeutil import utcnow
from .models import DELIVERED
from .outbox import Claimed, Outcome, claim_seconds

# In the driver's own parameter style, run with exec_driver_sql and committed
# on the slot's connection: no SQL compilation, ORM execute or session
# transaction per message.
_STATEMENT = """
WITH done AS (
  UPDATE email_message
     SET status = %(delivered)s, attempts = %(number)s, claimed_by = NULL, claimed_until = NULL,
         updated_at = %(now)s, delivered_at = %(now)s, provider_message_id = %(provider_message_id)s
   WHERE id = %(id)s AND status = %(status)s AND attempts = %(attempts)s
  RETURNING id
), attempt AS (
  INSERT INTO email_attempt
         (message_id, number, outcome, started_at, duration_ms, backend, error,
          provider_message_id, worker)
  SELECT id, %(number)s, %(delivered)s, %(started_at)s, %(duration_ms)s, %(backend)s, NULL,
         %(provider_message_id)s, %(worker)s
    FROM done
), counted AS (
  INSERT INTO durable_counter (name, labels, shard, value)
  SELECT 'email_notifications_total', %(labels)s, %(shard)s, 1 FROM done
  ON CONFLICT (name, labels, shard) DO UPDATE SET value = durable_counter.value + excluded.value
), following AS (
  UPDATE email_message AS m
     SET claimed_by = %(worker)s, claimed_until = %(claimed_until)s
   WHERE m.id = (
       SELECT n.id FROM email_message AS n
        WHERE n.status = %(queue)s AND n.id <> %(id)s
          AND (n.next_attempt_at IS NULL OR n.next_attempt_at <= %(now)s)
          AND (n.claimed_until IS NULL OR n.claimed_until < %(now)s)
          AND EXISTS (SELECT 1 FROM done)
        ORDER BY n.next_attempt_at, n.id
        LIMIT 1
        FOR UPDATE SKIP LOCKED)
  RETURNING m.id, m.idempotency_key, m.template, m.recipient, m.context, m.status,
            m.attempts, m.created_at,
            EXISTS (SELECT 1 FROM email_suppression AS s
                     WHERE s.address = lower(trim(m.recipient))) AS suppressed,
            EXISTS (SELECT 1 FROM circuit AS c
                     WHERE c.name = 'email' AND c.state = 'closed'
                       AND c.consecutive_failures = 0) AS circuit_clean
)
SELECT (SELECT count(*) FROM done) AS recorded, f.*
  FROM (SELECT 1) AS one LEFT JOIN following AS f ON true
"""


@functools.lru_cache(maxsize=64)
def _delivered_labels(template: str) -> str:
    return labels_key({"template": template, "status": DELIVERED})


def applies(outcome: Outcome, connection: Connection) -> bool:
    """Only a plain delivery takes the one-statement path, only on PostgreSQL."""
    return (
        outcome.status == DELIVERED
        and not outcome.error
        and not outcome.hard_bounce
        and outcome.skip_reason is None
        and connection.dialect.name == "postgresql"
    )


def deliver_and_claim(
    connection: Connection,
    message: Claimed,
    outcome: Outcome,
    worker: str,
    backend: str,
    queue: str,
) -> tuple[bool, Claimed | None]:
    """(recorded, next claimed message), committed on `connection` (which
    must hold no transaction: the caller's session has none open). Not
    recorded means another worker recorded an outcome first: rolled back,
    nothing claimed."""
    now = utcnow()
    params: dict[str, Any] = {
        "delivered": DELIVERED,
        "number": message.attempts + 1,
        "now": now,
        "provider_message_id": outcome.provider_message_id,
        "id": message.id,
        "status": message.status,
        "attempts": message.attempts,
        "started_at": outcome.started_at,
        "duration_ms": outcome.duration_ms,
        "backend": backend,
        "worker": worker,
        "labels": _delivered_labels(message.template),
        "shard": shard(),
        "claimed_until": now + timedelta(seconds=claim_seconds()),
        "queue": queue,
    }
    try:
        row = connection.exec_driver_sql(_STATEMENT, params).one()
        if not row.recorded:
            connection.rollback()
            return False, None
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    if row.id is None:
        return True, None
    return True, Claimed.from_row(row)
