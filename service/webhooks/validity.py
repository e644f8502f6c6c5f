"""The billing side of the email validity windows (see service/email/validity.py).

Webhooks decides which mail billing events cause, so it also says how long a
dunning email stays true: until its invoice is paid or voided. Email cannot
ask billing itself (they are sibling layers), so this registers a check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from sqlalchemy import select

from ..billing.models import Invoice
from ..email.validity import register_check
from ..extensions import db

SETTLED = ("paid", "void")


def payment_failed_still_true(context: Mapping[str, Any]) -> str | None:
    """A dunning email is true until the invoice is paid or voided."""
    invoice_id = context.get("invoice_id")
    if not invoice_id:
        return None
    status = db.session.scalar(select(Invoice.status).where(Invoice.id == invoice_id))
    return f"the invoice is {status}" if status in SETTLED else None


def init_app(app: Flask) -> None:
    register_check(app, "payment_failed", payment_failed_still_true)
