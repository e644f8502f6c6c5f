"""The dead-letter queue as operators see it: list, inspect, export, replay.

Shared by the admin API (views.py) and the CLI (cli.py). Listing is newest
first with keyset pagination on the id, so a page costs the same however
deep it is and rows arriving meanwhile never shift a page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Select, and_, func, or_, select, update

from ..db import rows_changed
from ..errors import ApiError
from ..extensions import db
from ..paging import keyset_page, parse_limit
from ..timeutil import isoformat, utcnow
from .models import DEAD, DELIVERED, DLQ_STATUSES, PENDING, QUEUED, SKIPPED, EmailAttempt
from .models import EmailMessage as Message

PAGE_SIZE, MAX_PAGE_SIZE = 50, 500
CSV_COLUMNS = (
    "id",
    "status",
    "template",
    "recipient",
    "attempts",
    "last_error",
    "next_attempt_at",
    "created_at",
    "updated_at",
    "idempotency_key",
)


class DlqError(ApiError):
    """A request the queue cannot honour; the CLI prints `message`."""


AGE_UNITS = {"m": 60, "h": 3600, "d": 86400}
FILTER_ARGS = ("status", "template", "recipient", "error", "older_than", "newer_than")


def parse_age(name: str, raw: str | None) -> timedelta | None:
    """'30m', '6h', '7d' -> a timedelta; anything else is a 400 naming the field."""
    if not raw:
        return None
    number, unit = raw[:-1], raw[-1:].lower()
    if unit not in AGE_UNITS or not number.isdigit() or len(number) > 6:
        raise DlqError(400, "invalid_age", f"{name} must look like 30m, 6h or 7d.")
    return timedelta(seconds=int(number) * AGE_UNITS[unit])


@dataclass(frozen=True)
class Filter:
    """Which dead letters: shared by the admin API, the console and the CLI."""

    statuses: tuple[str, ...] = DLQ_STATUSES
    template: str | None = None
    recipient: str | None = None  # the exact address
    error: str | None = None  # a case-insensitive substring of the last error
    older_than: timedelta | None = None  # created at least this long ago
    newer_than: timedelta | None = None  # created at most this long ago

    @classmethod
    def parse(cls, status: str | None, template: str | None, **more: str | None) -> Filter:
        if status and status not in DLQ_STATUSES:
            raise DlqError(400, "invalid_status", "status must be pending or dead.")
        return cls(
            (status,) if status else DLQ_STATUSES,
            template or None,
            (more.get("recipient") or "").strip() or None,
            (more.get("error") or "").strip()[:200] or None,
            parse_age("older_than", more.get("older_than")),
            parse_age("newer_than", more.get("newer_than")),
        )

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> Filter:
        """From a query string or form: the names in FILTER_ARGS."""
        values = {name: str(args[name]) if args.get(name) else None for name in FILTER_ARGS}
        return cls.parse(values.pop("status"), values.pop("template"), **values)

    def conditions(self, now: datetime | None = None) -> list[Any]:
        now = now or utcnow()
        found: list[Any] = [Message.status.in_(self.statuses)]
        if self.template:
            found.append(Message.template == self.template)
        if self.recipient:
            found.append(Message.recipient == self.recipient)
        if self.error:
            found.append(Message.last_error.icontains(self.error, autoescape=True))
        if self.older_than is not None:
            found.append(Message.created_at <= now - self.older_than)
        if self.newer_than is not None:
            found.append(Message.created_at >= now - self.newer_than)
        return found

    def where(self, query: Select) -> Select:
        return query.where(*self.conditions())

    def as_args(self) -> dict[str, str]:
        """Back to query-string form (links, audit detail); empty fields left out."""
        ages = {"older_than": self.older_than, "newer_than": self.newer_than}
        args = {
            "status": self.statuses[0] if len(self.statuses) == 1 else None,
            "template": self.template,
            "recipient": self.recipient,
            "error": self.error,
            **{name: _age_text(value) for name, value in ages.items()},
        }
        return {name: value for name, value in args.items() if value}


def _age_text(value: timedelta | None) -> str | None:
    if value is None:
        return None
    seconds = int(value.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds % AGE_UNITS[unit] == 0:
            return f"{seconds // AGE_UNITS[unit]}{unit}"
    return f"{seconds // 60}m"


KEY = (Message.id,)


def page(filters: Filter, limit: int, cursor: str | None) -> tuple[list[Message], str | None]:
    """One page, newest first, and the cursor of the next page (None: last).
    `limit` outside 1..MAX_PAGE_SIZE is a 400 (service/paging.py's rule)."""
    limit = parse_limit(limit, PAGE_SIZE, MAX_PAGE_SIZE)
    return keyset_page(filters.where(select(Message)), KEY, limit, cursor)


def iter_all(filters: Filter, chunk: int = MAX_PAGE_SIZE) -> Iterator[Message]:
    """Every match, newest first, a chunk per short transaction (CSV export)."""
    cursor: str | None = None
    while True:
        rows, cursor = page(filters, chunk, cursor)
        db.session.rollback()  # no transaction (SQLite: write lock) across a yield
        yield from rows
        if cursor is None:
            return


def summary(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "status": message.status,
        "template": message.template,
        "recipient": message.recipient,
        "attempts": message.attempts,
        "last_error": message.last_error,
        "next_attempt_at": isoformat(message.next_attempt_at),
        "created_at": isoformat(message.created_at),
        "updated_at": isoformat(message.updated_at),
        "delivered_at": isoformat(message.delivered_at),
        "idempotency_key": message.idempotency_key,
        "provider_message_id": message.provider_message_id,
    }


def _attempt(row: EmailAttempt) -> dict[str, Any]:
    return {
        "number": row.number,
        "outcome": row.outcome,
        "started_at": isoformat(row.started_at),
        "duration_ms": row.duration_ms,
        "backend": row.backend,
        "error": row.error,
        "provider_message_id": row.provider_message_id,
        "worker": row.worker,
    }


def get(message_id: int) -> Message:
    message = db.session.get(Message, message_id)
    if message is None:
        raise DlqError(404, "not_found", f"No email message {message_id}.")
    return message


def detail(message: Message) -> dict[str, Any]:
    attempts = db.session.scalars(
        select(EmailAttempt)
        .where(EmailAttempt.message_id == message.id)
        .order_by(EmailAttempt.started_at, EmailAttempt.id)
    )
    return {
        **summary(message),
        "context": message.context,
        "claimed_by": message.claimed_by,
        "claimed_until": isoformat(message.claimed_until),
        "attempt_history": [_attempt(row) for row in attempts],
    }


def csv_rows(messages: Iterator[Message]) -> Iterator[str]:
    buffer = io.StringIO()
    # Every field quoted: a semicolon-separated import cannot split a cell
    # into a new one that starts with a formula.
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    for message in messages:
        row = summary(message)
        writer.writerow([_csv_safe(row[column]) for column in CSV_COLUMNS])
        yield flush()
    yield flush()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value: Any) -> Any:
    # A cell starting with = + - @ (also after leading blanks, which some
    # spreadsheets skip) is a formula; an error message or address is data
    # (OWASP "CSV injection"). The quote makes it text.
    if isinstance(value, str) and (
        value[:1] in FORMULA_STARTS or value.lstrip(" \t\r\n")[:1] in FORMULA_STARTS
    ):
        return "'" + value
    return "" if value is None else value


def _replayable(now: Any) -> Any:
    claim_free = or_(Message.claimed_until.is_(None), Message.claimed_until < now)
    return and_(Message.status.in_(DLQ_STATUSES), claim_free)


def _requeue(now: Any) -> dict[str, Any]:
    return {
        "status": QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "claimed_by": None,
        "claimed_until": None,
        "updated_at": now,
    }


def replay(message_id: int) -> Message:
    """Put one message back in the send queue with fresh attempts; commits."""
    message = get(message_id)
    if message.status == DELIVERED:
        raise DlqError(409, "already_delivered", f"Email {message_id} was already delivered.")
    if message.status == SKIPPED:
        raise DlqError(409, "not_replayable", f"Email {message_id} was skipped, not failed.")
    if message.status == QUEUED:
        return message  # already waiting to be sent: nothing to do
    now = utcnow()
    requeued = rows_changed(
        update(Message)
        .where(Message.id == message_id, _replayable(now))
        .values(**_requeue(now))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if not requeued:  # a worker is retrying it right now
        raise DlqError(409, "in_flight", f"Email {message_id} is being sent; try again shortly.")
    db.session.refresh(message)
    return message


def replay_matching(filters: Filter) -> dict[str, int]:
    """Requeue every match that is not in flight; commits."""
    now = utcnow()
    matching = and_(*filters.conditions(now), _replayable(now))
    replayed = rows_changed(
        update(Message)
        .where(matching)
        .values(**_requeue(now))
        .execution_options(synchronize_session=False)
    )
    in_flight = db.session.scalar(
        filters.where(select(func.count()).select_from(Message)).where(Message.claimed_until >= now)
    )
    db.session.commit()
    return {"replayed": replayed, "in_flight": in_flight or 0}


def count(filters: Filter, cap: int | None = None) -> int:
    """How many messages match (the console states it before a bulk replay).

    With `cap`, counting stops past it (an answer of cap + 1 means "more"):
    an error-text filter must read every row it counts."""
    query = filters.where(select(Message.id))
    if cap is not None:
        query = query.limit(cap + 1)
    return int(db.session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def counts_by_template() -> list[dict[str, Any]]:
    """Per template: pending and dead counts (the console's overview)."""
    rows = db.session.execute(
        select(Message.template, Message.status, func.count())
        .where(Message.status.in_(DLQ_STATUSES))
        .group_by(Message.template, Message.status)
    )
    found: dict[str, dict[str, Any]] = {}
    for template, status, number in rows:
        found.setdefault(template, {"template": template, PENDING: 0, DEAD: 0})[status] = number
    return [found[name] for name in sorted(found)]


def counts() -> dict[str, int]:
    rows = db.session.execute(
        select(Message.status, func.count())
        .where(Message.status.in_(DLQ_STATUSES))
        .group_by(Message.status)
    )
    found = dict(rows.all())
    return {status: int(found.get(status, 0)) for status in (PENDING, DEAD)}


def metric_families() -> Iterator[GaugeMetricFamily]:
    gauge = GaugeMetricFamily(
        "email_dlq_messages", "Messages now in the dead-letter queue.", labels=["status"]
    )
    for status, count in counts().items():
        gauge.add_metric([status], count)
    yield gauge
