"""Billing state as the webhooks last saw it.

Every row remembers the version of the event that last wrote it
(`event_created`, Stripe's unix seconds, plus a per-object rank where the
object has one) so an older event delivered late never overwrites it.
Stripe ids are the primary keys: events refer to objects by id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UtcDateTime
from ..extensions import db
from ..timeutil import utcnow

STRIPE_ID = String(255)


class Customer(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    __tablename__ = "billing_customer"

    id: Mapped[str] = mapped_column(STRIPE_ID, primary_key=True)
    email: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    # Null while the row holds only a snapshot (checkout session, API fetch):
    # any customer.* event then wins.
    event_created: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class Subscription(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    __tablename__ = "billing_subscription"

    id: Mapped[str] = mapped_column(STRIPE_ID, primary_key=True)
    customer_id: Mapped[str] = mapped_column(STRIPE_ID, nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    current_period_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    trial_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    canceled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    event_created: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status_rank: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class Invoice(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    __tablename__ = "billing_invoice"

    id: Mapped[str] = mapped_column(STRIPE_ID, primary_key=True)
    customer_id: Mapped[str] = mapped_column(STRIPE_ID, nullable=False, index=True)
    subscription_id: Mapped[str | None] = mapped_column(STRIPE_ID)
    number: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    amount_due: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount_paid: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hosted_invoice_url: Mapped[str | None] = mapped_column(Text)
    event_created: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status_rank: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class ChargeRefund(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    """How much of one charge has been refunded.

    Keyed by charge: `charge.refunded` carries the charge, and since API
    version 2022-11-15 no longer lists its refunds, so the refunded total is
    what every payload shape has. It only grows, which makes it the version.
    """

    __tablename__ = "billing_charge_refund"

    charge_id: Mapped[str] = mapped_column(STRIPE_ID, primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(STRIPE_ID, index=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, nullable=False)
    fully_refunded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    last_refund_id: Mapped[str | None] = mapped_column(STRIPE_ID)
    event_created: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )
