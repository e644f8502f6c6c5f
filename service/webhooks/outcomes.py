"""Refused or failed deliveries: the HTTP answer plus the metric labels
(values in statuses.py; README's "Webhooks" section)."""

from __future__ import annotations

from ..errors import ApiError
from .statuses import INVALID_SIGNATURE, PAYLOAD_MISMATCH, REJECTED


class WebhookError(ApiError):
    """A delivery refused or failed: the HTTP answer plus the metric labels."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        result: str = REJECTED,
        error_type: str | None = None,
    ) -> None:
        super().__init__(status, code, message)
        self.result = result
        self.error_type = error_type


def invalid_signature(message: str) -> WebhookError:
    return WebhookError(400, INVALID_SIGNATURE, message, error_type=INVALID_SIGNATURE)


def payload_mismatch(message: str) -> WebhookError:
    return WebhookError(400, PAYLOAD_MISMATCH, message, error_type=PAYLOAD_MISMATCH)


def invalid_payload(message: str) -> WebhookError:
    # Not JSON, or not a Stripe event: rejected, but no error type of its own
    # (counted only under result="rejected", see docs/RUNBOOK.md).
    return WebhookError(400, "invalid_payload", message)
