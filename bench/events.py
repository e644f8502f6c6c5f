"""Signed, distinct `invoice.paid` deliveries, shaped like Stripe's (API 2024-06-20).

Each event has its own id and invoice; customers repeat (a few hundred), as
in a real month. The address is in the payload, so no Stripe API call is
needed: the bench measures the service, not a fake Stripe. Bodies are
pretty-printed like Stripe's and signed with the Stripe library.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from dataclasses import dataclass

import stripe

SECRET = "whsec_bench_5b1e0c7a9d3f4e2a8c6b0d1f"  # noqa: S105 (loopback servers of one run)
API_VERSION = "2024-06-20"
CUSTOMERS = 300
_seq = itertools.count(1)


@dataclass(frozen=True)
class Delivery:
    event_id: str
    body: bytes
    signature: str


def _uid(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def invoice_paid(now: int) -> dict:
    n = next(_seq)
    invoice_id = _uid("in")
    customer = f"cus_bench{n % CUSTOMERS:05d}"
    invoice = {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "amount_due": 2000,
        "amount_paid": 2000,
        "amount_remaining": 0,
        "attempt_count": 1,
        "attempted": True,
        "billing_reason": "subscription_cycle",
        "charge": _uid("ch"),
        "collection_method": "charge_automatically",
        "created": now - 3600,
        "currency": "usd",
        "customer": customer,
        "customer_email": f"customer{n % CUSTOMERS}@example.com",
        "customer_name": f"Customer {n % CUSTOMERS}",
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_1Nv0FG/test_{invoice_id}",
        "invoice_pdf": f"https://pay.stripe.com/invoice/acct_1Nv0FG/test_{invoice_id}/pdf",
        "livemode": False,
        "next_payment_attempt": None,
        "number": f"7D2C1B4A-{n:06d}",
        "paid": True,
        "period_end": now - 3600,
        "period_start": now - 3600 - 30 * 86400,
        "status": "paid",
        "status_transitions": {"paid_at": now - 60, "finalized_at": now - 3600},
        "subscription": f"sub_bench{n % CUSTOMERS:05d}",
        "total": 2000,
    }
    return {
        "id": _uid("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": now - 30,
        "data": {"object": invoice},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": _uid("req"), "idempotency_key": str(uuid.uuid4())},
        "type": "invoice.paid",
    }


def deliveries(count: int, secret: str = SECRET) -> list[Delivery]:
    """`count` distinct deliveries signed now (the tolerance is minutes: sign late)."""
    now = int(time.time())
    out = []
    for _ in range(count):
        event = invoice_paid(now)
        text = json.dumps(event, indent=2)
        signature = stripe.WebhookSignature.generate_signature_header(text, secret, timestamp=now)
        out.append(Delivery(event["id"], text.encode(), signature))
    return out
