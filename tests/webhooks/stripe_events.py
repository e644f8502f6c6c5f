"""Stripe events shaped like the real ones (API version 2024-06-20), and signing.

Builders return plain dicts; `body()` serialises one the way Stripe does
(pretty-printed JSON), and `sign()` makes the Stripe-Signature header with
the Stripe library's own helper.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from typing import Any

import stripe

API_VERSION = "2024-06-20"
SECRET = "whsec_test_primary_3f9b1c2d4e5a6b7c8d9e0f1a"
OLD_SECRET = "whsec_test_rotated_out_0a1b2c3d4e5f6a7b8c9d"
NOW = int(time.time())
_seq = itertools.count(1)


def uid(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def body(event: dict[str, Any]) -> bytes:
    return json.dumps(event, indent=2).encode()


def sign(payload: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    timestamp = timestamp or int(time.time())
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        # The library signs text only; sign these bytes the way it verifies (v1 HMAC).
        mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
        return f"t={timestamp},v1={mac.hexdigest()}"
    return stripe.WebhookSignature.generate_signature_header(text, secret, timestamp=timestamp)


def event(event_type: str, obj: dict[str, Any], created: int | None = None, **extra: Any) -> dict:
    previous = extra.pop("previous_attributes", None)
    data: dict[str, Any] = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": extra.pop("id", None) or uid("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": created or NOW - 100 + next(_seq),
        "data": data,
        "livemode": extra.pop("livemode", False),
        "pending_webhooks": extra.pop("pending_webhooks", 1),
        "request": {"id": uid("req"), "idempotency_key": str(uuid.uuid4())},
        "type": event_type,
        **extra,
    }


def customer(customer_id: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "id": customer_id or uid("cus"),
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": NOW - 86400,
        "currency": "usd",
        "default_source": None,
        "delinquent": False,
        "description": None,
        "email": "jenny.rosen@example.com",
        "invoice_prefix": "7D2C1B4A",
        "invoice_settings": {"custom_fields": None, "default_payment_method": None},
        "livemode": False,
        "metadata": {},
        "name": "Jenny Rosen",
        "phone": None,
        "preferred_locales": ["en"],
        "shipping": None,
        "tax_exempt": "none",
        **fields,
    }


def subscription(customer_id: str, sub_id: str | None = None, **fields: Any) -> dict[str, Any]:
    sub_id = sub_id or uid("sub")
    period_end = fields.pop("current_period_end", NOW + 30 * 86400)
    return {
        "id": sub_id,
        "object": "subscription",
        "application": None,
        "billing_cycle_anchor": NOW - 86400,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": NOW - 86400,
        "currency": "usd",
        "current_period_end": period_end,
        "current_period_start": NOW - 86400,
        "customer": customer_id,
        "ended_at": None,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": uid("si"),
                    "object": "subscription_item",
                    "price": {
                        "id": "price_1PgafmB7WZ01zgkWSY5OWuNO",
                        "object": "price",
                        "currency": "usd",
                        "nickname": "Pro monthly",
                        "product": "prod_QXg1234567",
                        "recurring": {"interval": "month", "interval_count": 1},
                        "unit_amount": 2000,
                    },
                    "quantity": 1,
                    "subscription": sub_id,
                }
            ],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "latest_invoice": uid("in"),
        "livemode": False,
        "metadata": {},
        "start_date": NOW - 86400,
        "status": "active",
        "trial_end": None,
        "trial_start": None,
        **fields,
    }


def invoice(customer_id: str, **fields: Any) -> dict[str, Any]:
    invoice_id = fields.pop("id", None) or uid("in")
    return {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "amount_due": 2000,
        "amount_paid": 2000,
        "amount_remaining": 0,
        "attempt_count": 1,
        "attempted": True,
        "billing_reason": "subscription_cycle",
        "charge": uid("ch"),
        "collection_method": "charge_automatically",
        "created": NOW - 3600,
        "currency": "usd",
        "customer": customer_id,
        "customer_email": "jenny.rosen@example.com",
        "customer_name": "Jenny Rosen",
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_1Nv0FG/test_{invoice_id}",
        "invoice_pdf": f"https://pay.stripe.com/invoice/acct_1Nv0FG/test_{invoice_id}/pdf",
        "livemode": False,
        "next_payment_attempt": None,
        "number": "7D2C1B4A-0001",
        "paid": True,
        "period_end": NOW - 3600,
        "period_start": NOW - 3600 - 30 * 86400,
        "status": "paid",
        "status_transitions": {
            "finalized_at": NOW - 3500,
            "marked_uncollectible_at": None,
            "paid_at": NOW - 3400,
            "voided_at": None,
        },
        "subscription": uid("sub"),
        "subtotal": 2000,
        "total": 2000,
        **fields,
    }


def charge(customer_id: str | None, **fields: Any) -> dict[str, Any]:
    charge_id = fields.pop("id", None) or uid("ch")
    refund = {
        "id": uid("re"),
        "object": "refund",
        "amount": 500,
        "charge": charge_id,
        "created": NOW - 60,
        "currency": "usd",
        "reason": "requested_by_customer",
        "status": "succeeded",
    }
    return {
        "id": charge_id,
        "object": "charge",
        "amount": 2000,
        "amount_captured": 2000,
        "amount_refunded": 500,
        "billing_details": {
            "address": {"country": "US", "postal_code": "94107"},
            "email": "jenny.rosen@example.com",
            "name": "Jenny Rosen",
            "phone": None,
        },
        "captured": True,
        "created": NOW - 7200,
        "currency": "usd",
        "customer": customer_id,
        "description": "Subscription update",
        "invoice": uid("in"),
        "livemode": False,
        "paid": True,
        "payment_intent": uid("pi"),
        "receipt_email": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{charge_id}",
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [refund],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/charges/{charge_id}/refunds",
        },
        "status": "succeeded",
        **fields,
    }


def checkout_session(customer_id: str | None, **fields: Any) -> dict[str, Any]:
    return {
        "id": uid("cs_test"),
        "object": "checkout.session",
        "amount_subtotal": 2000,
        "amount_total": 2000,
        "client_reference_id": None,
        "created": NOW - 600,
        "currency": "usd",
        "customer": customer_id,
        "customer_details": {
            "address": {"country": "US", "postal_code": "94107"},
            "email": "jenny.rosen@example.com",
            "name": "Jenny Rosen",
            "phone": None,
            "tax_exempt": "none",
        },
        "livemode": False,
        "mode": "subscription",
        "payment_status": "paid",
        "status": "complete",
        "subscription": uid("sub"),
        "success_url": "https://example.com/success",
        **fields,
    }
