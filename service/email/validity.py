"""Validity windows: a notice that is no longer true is not sent.

Checked at send time, right after the claim. Past its window a message is
`skipped` with reason `expired` (README, "Email dispatch"):
- `trial_ending`: until the trial ends (`trial_end` in its context);
- `receipt`: EMAIL_RECEIPT_VALID_DAYS (default 7) after it was queued;
- `payment_failed`: until the invoice is paid or voided. That needs billing
  state, which this package does not import (billing and email are sibling
  layers), so webhooks registers a check with `register_check` at start-up
  (service/webhooks/validity.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app

from ..timeutil import as_utc

# template -> check(context) returning why the notice no longer holds, or None.
Check = Callable[[Mapping[str, Any]], str | None]
_EXTENSION = "email_validity_checks"


def register_check(app: Flask, template: str, check: Check) -> None:
    app.extensions.setdefault(_EXTENSION, {})[template] = check


def _when(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except (ValueError, OverflowError, OSError):
        return None


def expired(
    template: str, context: Mapping[str, Any], queued_at: datetime | None, now: datetime
) -> str | None:
    """Why this message is past its validity window, or None to send it."""
    if template == "trial_ending":
        trial_end = _when(context.get("trial_end"))
        if trial_end is not None and now >= trial_end:
            return "the trial has ended"
    if template == "receipt" and queued_at is not None:
        days = current_app.config["SETTINGS"].email_receipt_valid_days
        if now - queued_at > timedelta(days=days):
            return f"queued more than {days:g} days ago"
    check = current_app.extensions.get(_EXTENSION, {}).get(template)
    return check(context) if check is not None else None
