"""Sample contexts for previewing templates (`flask email preview`, the admin
API): shaped like the contexts billing events produce (see
service/webhooks/notices.py), with every field a template reads."""

from __future__ import annotations

from typing import Any

INVOICE = {
    "invoice_id": "in_sample",
    "invoice_number": "INV-0042",
    "currency": "usd",
    "amount_due": 4900,
    "amount_paid": 4900,
    "hosted_invoice_url": "https://invoice.stripe.com/i/acct_sample/in_sample",
    "invoice_pdf": "https://pay.stripe.com/invoice/acct_sample/in_sample/pdf",
    "period_start": "2026-11-01T00:00:00Z",
    "period_end": "2026-12-01T00:00:00Z",
}
CUSTOMER = {"customer_name": "Ada Lovelace", "customer_email": "ada@example.com"}
SAMPLES: dict[str, dict[str, Any]] = {
    "receipt": {**CUSTOMER, **INVOICE, "paid_at": "2026-11-27T09:30:00Z"},
    "payment_failed": {
        **CUSTOMER,
        **INVOICE,
        "amount_paid": 0,
        "attempt_count": 1,
        "next_payment_attempt": "2026-11-30T09:00:00Z",
    },
    "subscription_canceled": {
        **CUSTOMER,
        "subscription_id": "sub_sample",
        "plan_name": "Pro plan",
        "canceled_at": "2026-11-27T09:30:00Z",
    },
    "trial_ending": {
        **CUSTOMER,
        "subscription_id": "sub_sample",
        "plan_name": "Pro plan",
        "trial_end": "2026-11-30T00:00:00Z",
    },
    "refund_issued": {
        **CUSTOMER,
        "charge_id": "ch_sample",
        "currency": "usd",
        "charge_amount": 4900,
        "amount_refunded": 4900,
        "refund_amount": 4900,
        "receipt_url": "https://pay.stripe.com/receipts/acct_sample/ch_sample",
    },
}
