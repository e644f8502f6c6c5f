"""One Stripe event of each type the service handles, as one customer's story.

The events are shaped like Stripe's own (API version 2024-06-20), trimmed to
the fields a reader would look for. Ids are fresh on every run, so each
`make demo` is processed (not answered as a duplicate) and queues its own
emails. Order matters, as it would from Stripe: the customer exists before
the events that need its address, and `created` grows one second per event
so no event counts as older than the state it follows.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import stripe

API_VERSION = "2024-06-20"
CUSTOMER_EMAIL = "jenny.rosen@example.com"
CUSTOMER_NAME = "Jenny Rosen"
PLAN = {"id": "price_demo_pro_monthly", "object": "price", "nickname": "Pro monthly"}


def _id(prefix: str) -> str:
    return f"{prefix}_demo{uuid.uuid4().hex[:20]}"


class Story:
    """The ids and clock the events share."""

    def __init__(self, now: int | None = None) -> None:
        self.now = now or int(time.time())
        self.customer = _id("cus")
        self.subscription = _id("sub")
        self.invoice_paid = _id("in")
        self.invoice_failed = _id("in")
        self.charge = _id("ch")
        self.tick = 0

    def event(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        self.tick += 1
        return {
            "id": _id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now - 60 + self.tick,
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }

    def customer_object(self, **fields: Any) -> dict[str, Any]:
        return {
            "id": self.customer,
            "object": "customer",
            "email": CUSTOMER_EMAIL,
            "name": CUSTOMER_NAME,
            "livemode": False,
            **fields,
        }

    def subscription_object(self, status: str, **fields: Any) -> dict[str, Any]:
        item = {"id": _id("si"), "object": "subscription_item", "price": PLAN, "quantity": 1}
        return {
            "id": self.subscription,
            "object": "subscription",
            "customer": self.customer,
            "status": status,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "current_period_end": self.now + 30 * 86400,
            "items": {"object": "list", "data": [item]},
            "livemode": False,
            "trial_end": None,
            **fields,
        }

    def invoice_object(self, invoice_id: str, paid: bool) -> dict[str, Any]:
        return {
            "id": invoice_id,
            "object": "invoice",
            "customer": self.customer,
            "customer_email": CUSTOMER_EMAIL,
            "customer_name": CUSTOMER_NAME,
            "subscription": self.subscription,
            "status": "paid" if paid else "open",
            "currency": "usd",
            "amount_due": 2000,
            "amount_paid": 2000 if paid else 0,
            "amount_remaining": 0 if paid else 2000,
            "attempt_count": 1,
            "number": f"DEMO-{invoice_id[-6:].upper()}",
            "hosted_invoice_url": f"https://invoice.stripe.com/i/demo/{invoice_id}",
            "next_payment_attempt": None if paid else self.now + 3 * 86400,
            "status_transitions": {"paid_at": self.now - 30 if paid else None},
            "livemode": False,
        }

    def charge_object(self) -> dict[str, Any]:
        refund = {"id": _id("re"), "object": "refund", "amount": 500, "status": "succeeded"}
        return {
            "id": self.charge,
            "object": "charge",
            "customer": self.customer,
            "amount": 2000,
            "amount_refunded": 500,
            "currency": "usd",
            "refunded": False,
            "billing_details": {"email": CUSTOMER_EMAIL, "name": CUSTOMER_NAME},
            "receipt_email": None,
            "receipt_url": f"https://pay.stripe.com/receipts/demo/{self.charge}",
            "refunds": {"object": "list", "data": [refund]},
            "livemode": False,
        }


def story(now: int | None = None) -> list[dict[str, Any]]:
    """Ten events: a customer signs up, trials, pays, fails a payment, gets a
    refund and cancels. Five of them cause an email."""
    s = Story(now)
    trial_end = s.now + 3 * 86400
    checkout = {
        "id": _id("cs_test"),
        "object": "checkout.session",
        "customer": s.customer,
        "customer_details": {"email": CUSTOMER_EMAIL, "name": CUSTOMER_NAME},
        "mode": "subscription",
        "status": "complete",
        "livemode": False,
    }
    return [
        s.event("customer.created", s.customer_object()),
        s.event("checkout.session.completed", checkout),
        s.event("customer.updated", s.customer_object(phone="+15555550123")),
        s.event(
            "customer.subscription.created", s.subscription_object("trialing", trial_end=trial_end)
        ),
        s.event(
            "customer.subscription.trial_will_end",
            s.subscription_object("trialing", trial_end=trial_end),
        ),
        s.event("customer.subscription.updated", s.subscription_object("active")),
        s.event("invoice.paid", s.invoice_object(s.invoice_paid, paid=True)),
        s.event("invoice.payment_failed", s.invoice_object(s.invoice_failed, paid=False)),
        s.event("charge.refunded", s.charge_object()),
        s.event(
            "customer.subscription.deleted",
            s.subscription_object("canceled", canceled_at=s.now),
        ),
    ]


def signed(event: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """The body as Stripe sends it (pretty-printed JSON) and the headers, the
    signature made by the Stripe library's own helper."""
    payload = json.dumps(event, indent=2)
    signature = stripe.WebhookSignature.generate_signature_header(payload, secret)
    return payload.encode(), {"Content-Type": "application/json", "Stripe-Signature": signature}
