"""What mail a Stripe event causes: template contexts, queued in the outbox.

Decided here, in webhooks, so billing stays plain state and reaches email
through nobody: webhooks applies an event to billing state, then queues the
mail it causes (see handlers.py), both in the event's transaction.

Contexts carry everything a template shows, so rendering never goes back to
the database or to Stripe: amounts in minor units with their currency,
times as ISO-8601 UTC strings, links as Stripe gave them.
"""

from __future__ import annotations

from typing import Any

from ..billing.customers import Recipient
from ..billing.fields import amount, dig, flag, timestamp
from ..billing.state import (
    as_datetime,
    invoice_subscription,
    newest_refund,
    subscription_period_end,
)
from ..email import outbox
from ..timeutil import isoformat

RECEIPT, PAYMENT_FAILED, SUBSCRIPTION_CANCELED, TRIAL_ENDING, REFUND_ISSUED = (
    "receipt",
    "payment_failed",
    "subscription_canceled",
    "trial_ending",
    "refund_issued",
)


def _iso(value: Any) -> str | None:
    return isoformat(as_datetime(value))


def notify(event_id: str, template: str, to: Recipient, context: dict[str, Any]) -> bool:
    """Queue one email in the caller's transaction; the key makes it once per event."""
    full = {"customer_name": to.name, "customer_email": to.email, "event_id": event_id, **context}
    return outbox.enqueue(f"{event_id}:{template}", template, to.email, full)


def invoice_context(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "invoice_id": obj["id"],
        "invoice_number": obj.get("number"),
        "currency": obj["currency"],
        "amount_due": obj["amount_due"],
        "amount_paid": obj["amount_paid"],
        "amount_remaining": dig(obj, "amount_remaining", check=amount),
        "hosted_invoice_url": obj.get("hosted_invoice_url"),
        "invoice_pdf": dig(obj, "invoice_pdf"),
        "subscription_id": invoice_subscription(obj),
        "period_start": _iso(dig(obj, "period_start", check=timestamp)),
        "period_end": _iso(dig(obj, "period_end", check=timestamp)),
    }


def receipt_context(obj: dict[str, Any]) -> dict[str, Any]:
    paid_at = dig(obj, "status_transitions", "paid_at", check=timestamp)
    return {**invoice_context(obj), "paid_at": _iso(paid_at)}


def payment_failed_context(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        **invoice_context(obj),
        "attempt_count": dig(obj, "attempt_count", check=amount),
        "next_payment_attempt": _iso(dig(obj, "next_payment_attempt", check=timestamp)),
    }


def subscription_context(obj: dict[str, Any]) -> dict[str, Any]:
    first_item = (dig(obj, "items", "data", check=lambda v: isinstance(v, list)) or [None])[0]
    return {
        "subscription_id": obj["id"],
        "status": obj["status"],
        "plan_name": dig(first_item, "price", "nickname") or dig(first_item, "plan", "nickname"),
        "current_period_end": _iso(subscription_period_end(obj)),
        "cancel_at_period_end": bool(dig(obj, "cancel_at_period_end", check=flag)),
        "trial_end": _iso(dig(obj, "trial_end", check=timestamp)),
        "canceled_at": _iso(dig(obj, "canceled_at", check=timestamp)),
        "ended_at": _iso(dig(obj, "ended_at", check=timestamp)),
        "cancellation_reason": dig(obj, "cancellation_details", "reason"),
    }


def refund_context(obj: dict[str, Any]) -> dict[str, Any]:
    latest = newest_refund(obj)
    latest_amount = dig(latest, "amount", check=amount)
    return {
        "charge_id": obj["id"],
        "currency": obj["currency"],
        "charge_amount": obj["amount"],
        "amount_refunded": obj["amount_refunded"],
        # This refund's own amount where the payload lists refunds (older API
        # versions); otherwise the total refunded on the charge so far.
        "refund_amount": latest_amount if latest_amount is not None else obj["amount_refunded"],
        "refund_id": dig(latest, "id"),
        "fully_refunded": bool(dig(obj, "refunded", check=flag)),
        "receipt_url": dig(obj, "receipt_url"),
        "description": dig(obj, "description"),
    }
