"""Apply Stripe objects to billing state, newest version wins.

Events arrive out of order and more than once. Each row keeps the version
that wrote it: the event's `created` (whole seconds), then a rank from the
object's one-way lifecycle to break ties within a second (an invoice goes
open -> paid, never back). An incoming version older than the stored one
changes nothing; the caller is told, so it can decide about side effects.
Subscriptions and invoices are written with one upsert whose WHERE compares
versions (the conflicting row is locked by it); the others are read FOR
UPDATE (PostgreSQL). Either way two events for one object apply one after
the other; on SQLite every transaction already holds the lock.

Everything here is Core statements on the tables, run through
`service.db.execute`: in the webhook's `core_transaction` when one is open
(no ORM session on that path), else in the session.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Table, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from ..db import dialect_name, execute
from ..timeutil import utcnow
from .fields import dig, stripe_id, timestamp
from .models import ChargeRefund, Customer, Invoice, Subscription

SUBSCRIPTION_RANK = {"incomplete": 0, "canceled": 2, "incomplete_expired": 2}  # others 1
INVOICE_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}


def as_datetime(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if timestamp(value) and value > 0 else None


@dataclass(frozen=True)
class Stored:
    """A subscription or invoice as it stands after an event was applied."""

    id: str
    status: str


def _locked(table: Table, key: str) -> Row[Any] | None:
    """The row by primary key, locked until the transaction ends."""
    key_column = next(iter(table.primary_key.columns))
    return execute(select(table).where(key_column == key).with_for_update()).first()


def _write(table: Table, key: str, exists: bool, values: dict[str, Any]) -> None:
    """Insert the row, or update the one `_locked` found (a concurrent insert
    of the same key fails with IntegrityError, and the event is retried)."""
    key_column = next(iter(table.primary_key.columns))
    values = {**values, "updated_at": utcnow()}
    if exists:
        execute(update(table).where(key_column == key).values(**values))
    else:
        execute(insert(table).values({key_column.name: key, **values}))


def apply_customer(obj: dict[str, Any], event_created: int) -> bool:
    table = Customer.__table__
    row = _locked(table, obj["id"])
    if row is not None and row.event_created is not None and event_created < row.event_created:
        return False
    values = {"email": obj.get("email"), "name": obj.get("name"), "event_created": event_created}
    _write(table, obj["id"], row is not None, values)
    return True


def remember_customer(customer_id: str, email: str | None, name: str | None) -> None:
    """A snapshot seen elsewhere (checkout, API): fills gaps, never overrides."""
    table = Customer.__table__
    row = _locked(table, customer_id)
    if row is not None:
        email, name = row.email or email, row.name or name
    _write(table, customer_id, row is not None, {"email": email, "name": name})


def subscription_period_end(obj: dict[str, Any]) -> int | None:
    """Top-level before API version 2025-03-31; on the items since then."""
    if timestamp(obj.get("current_period_end")):
        return obj["current_period_end"]
    items = dig(obj, "items", "data", check=lambda v: isinstance(v, list)) or []
    ends = [dig(item, "current_period_end", check=timestamp) for item in items]
    return max((end for end in ends if end is not None), default=None)


@functools.lru_cache(maxsize=16)
def _ranked_statement(table: Any, dialect: str, columns: tuple[str, ...]) -> Any:
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return insert.on_conflict_do_update(
        index_elements=["id"],
        set_={name: insert.excluded[name] for name in columns if name != "id"},
        where=tuple_(table.c.event_created, table.c.status_rank)
        <= tuple_(insert.excluded.event_created, insert.excluded.status_rank),
    ).returning(table.c.id)


def _ranked_upsert(
    table: Table, key: str, version: tuple[int, int], values: dict[str, Any]
) -> tuple[Stored, bool]:
    """Write `values` unless the stored row has a newer version (event time,
    status rank): events arrive out of order. One statement, the conflicting
    row locked by it, instead of a locked read and an ORM flush (a third of
    a webhook's CPU, docs/PERFORMANCE.md). Returns the row as it now stands
    and whether this version was written."""
    row = {"id": key, **values, "event_created": version[0], "status_rank": version[1]}
    row["updated_at"] = utcnow()
    # Built once per table and dialect; the values travel as parameters.
    statement = _ranked_statement(table, dialect_name(), tuple(row))
    if execute(statement, row).first() is not None:
        return Stored(key, row["status"]), True
    stored = execute(select(table.c.id, table.c.status).where(table.c.id == key)).first()
    assert stored is not None  # the conflict that skipped the update is this row
    return Stored(stored.id, stored.status), False


def apply_subscription(obj: dict[str, Any], event_created: int) -> tuple[Stored, bool]:
    version = (event_created, SUBSCRIPTION_RANK.get(obj["status"], 1))
    values = {
        "customer_id": obj["customer"],
        "status": obj["status"],
        "current_period_end": as_datetime(subscription_period_end(obj)),
        "cancel_at_period_end": bool(obj.get("cancel_at_period_end")),
        "trial_end": as_datetime(obj.get("trial_end")),
        "canceled_at": as_datetime(obj.get("canceled_at")),
    }
    return _ranked_upsert(Subscription.__table__, obj["id"], version, values)


def invoice_subscription(obj: dict[str, Any]) -> str | None:
    """`subscription` before API version 2025-03-31; under `parent` since."""
    if stripe_id(obj.get("subscription")):
        return obj["subscription"]
    return dig(obj, "parent", "subscription_details", "subscription", check=stripe_id)


def apply_invoice(obj: dict[str, Any], event_created: int) -> tuple[Stored, bool]:
    version = (event_created, INVOICE_RANK.get(obj["status"], 1))
    values = {
        "customer_id": obj["customer"],
        "subscription_id": invoice_subscription(obj),
        "number": obj.get("number"),
        "status": obj["status"],
        "currency": obj["currency"],
        "amount_due": obj["amount_due"],
        "amount_paid": obj["amount_paid"],
        "hosted_invoice_url": obj.get("hosted_invoice_url"),
    }
    return _ranked_upsert(Invoice.__table__, obj["id"], version, values)


def newest_refund(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The latest refund listed on the charge (older API versions list them)."""
    listed = dig(obj, "refunds", "data", check=lambda v: isinstance(v, list)) or []
    dated = [r for r in listed if dig(r, "created", check=timestamp) is not None]
    return max(dated, key=lambda r: r["created"]) if dated else None


def apply_charge_refund(obj: dict[str, Any], event_created: int) -> bool:
    # The refunded total only grows: it orders refunds better than seconds do.
    version = (obj["amount_refunded"], event_created)
    table = ChargeRefund.__table__
    row = _locked(table, obj["id"])
    if row is not None and version < (row.amount_refunded, row.event_created):
        return False
    values = {
        "customer_id": obj.get("customer"),
        "currency": obj["currency"],
        "amount": obj["amount"],
        "amount_refunded": obj["amount_refunded"],
        "fully_refunded": bool(obj.get("refunded")),
        "last_refund_id": dig(newest_refund(obj), "id", check=stripe_id),
        "event_created": event_created,
    }
    _write(table, obj["id"], row is not None, values)
    return True
