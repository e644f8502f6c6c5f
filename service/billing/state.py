"""Apply Stripe objects to billing state, newest version wins.

Events arrive out of order and more than once. Each row keeps the version
that wrote it: the event's `created` (whole seconds), then a rank from the
object's one-way lifecycle to break ties within a second (an invoice goes
open -> paid, never back). An incoming version older than the stored one
changes nothing; the caller is told, so it can decide about side effects.
Rows are read FOR UPDATE (PostgreSQL) so two events for one object apply
one after the other; on SQLite every transaction already holds the lock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from ..extensions import db
from .fields import dig, stripe_id, timestamp
from .models import ChargeRefund, Customer, Invoice, Subscription

M = TypeVar("M")
Ranked = TypeVar("Ranked", Subscription, Invoice)
SUBSCRIPTION_RANK = {"incomplete": 0, "canceled": 2, "incomplete_expired": 2}  # others 1
INVOICE_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}


def as_datetime(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if timestamp(value) and value > 0 else None


def _locked(model: type[M], key: str) -> M | None:
    return db.session.get(model, key, with_for_update=True, populate_existing=True)


def apply_customer(obj: dict[str, Any], event_created: int) -> bool:
    row = _locked(Customer, obj["id"])
    if row is not None and row.event_created is not None and event_created < row.event_created:
        return False
    if row is None:
        row = Customer(id=obj["id"])
        db.session.add(row)
    row.email, row.name, row.event_created = obj.get("email"), obj.get("name"), event_created
    return True


def remember_customer(customer_id: str, email: str | None, name: str | None) -> None:
    """A snapshot seen elsewhere (checkout, API): fills gaps, never overrides."""
    row = _locked(Customer, customer_id)
    if row is None:
        db.session.add(Customer(id=customer_id, email=email, name=name))
        return
    row.email = row.email or email
    row.name = row.name or name


def subscription_period_end(obj: dict[str, Any]) -> int | None:
    """Top-level before API version 2025-03-31; on the items since then."""
    if timestamp(obj.get("current_period_end")):
        return obj["current_period_end"]
    items = dig(obj, "items", "data", check=lambda v: isinstance(v, list)) or []
    ends = [dig(item, "current_period_end", check=timestamp) for item in items]
    return max((end for end in ends if end is not None), default=None)


def _ranked_row(model: type[Ranked], key: str, version: tuple[int, int]) -> tuple[Ranked, bool]:
    """The row to update, created if new, and whether `version` (event time,
    status rank) is not older than what is stored: events arrive out of order."""
    row = _locked(model, key)
    if row is not None and version < (row.event_created, row.status_rank):
        return row, False
    if row is None:
        row = model(id=key)
        db.session.add(row)
    return row, True


def apply_subscription(obj: dict[str, Any], event_created: int) -> tuple[Subscription, bool]:
    version = (event_created, SUBSCRIPTION_RANK.get(obj["status"], 1))
    row, newer = _ranked_row(Subscription, obj["id"], version)
    if not newer:
        return row, False
    row.customer_id, row.status = obj["customer"], obj["status"]
    row.current_period_end = as_datetime(subscription_period_end(obj))
    row.cancel_at_period_end = bool(obj.get("cancel_at_period_end"))
    row.trial_end = as_datetime(obj.get("trial_end"))
    row.canceled_at = as_datetime(obj.get("canceled_at"))
    row.event_created, row.status_rank = version
    return row, True


def invoice_subscription(obj: dict[str, Any]) -> str | None:
    """`subscription` before API version 2025-03-31; under `parent` since."""
    if stripe_id(obj.get("subscription")):
        return obj["subscription"]
    return dig(obj, "parent", "subscription_details", "subscription", check=stripe_id)


def apply_invoice(obj: dict[str, Any], event_created: int) -> tuple[Invoice, bool]:
    version = (event_created, INVOICE_RANK.get(obj["status"], 1))
    row, newer = _ranked_row(Invoice, obj["id"], version)
    if not newer:
        return row, False
    row.customer_id, row.subscription_id = obj["customer"], invoice_subscription(obj)
    row.number, row.status, row.currency = obj.get("number"), obj["status"], obj["currency"]
    row.amount_due, row.amount_paid = obj["amount_due"], obj["amount_paid"]
    row.hosted_invoice_url = obj.get("hosted_invoice_url")
    row.event_created, row.status_rank = version
    return row, True


def newest_refund(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The latest refund listed on the charge (older API versions list them)."""
    listed = dig(obj, "refunds", "data", check=lambda v: isinstance(v, list)) or []
    dated = [r for r in listed if dig(r, "created", check=timestamp) is not None]
    return max(dated, key=lambda r: r["created"]) if dated else None


def apply_charge_refund(obj: dict[str, Any], event_created: int) -> tuple[ChargeRefund, bool]:
    # The refunded total only grows: it orders refunds better than seconds do.
    version = (obj["amount_refunded"], event_created)
    row = _locked(ChargeRefund, obj["id"])
    if row is not None and version < (row.amount_refunded, row.event_created):
        return row, False
    if row is None:
        row = ChargeRefund(charge_id=obj["id"])
        db.session.add(row)
    latest = newest_refund(obj)
    row.customer_id, row.currency = obj.get("customer"), obj["currency"]
    row.amount, row.amount_refunded = obj["amount"], obj["amount_refunded"]
    row.fully_refunded = bool(obj.get("refunded"))
    row.last_refund_id = dig(latest, "id", check=stripe_id)
    row.event_created = event_created
    return row, True
