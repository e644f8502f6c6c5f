"""Every webhook status and label value, in one place.

A delivery's result is one of RESULTS (`webhook_events_total{result}`); a
stored event's status is one of STATUSES, the final results a row can hold;
an error's type is one of ERROR_TYPES (`webhook_errors_total{type}`).
README's "Webhooks" section and docs/RUNBOOK.md list them for operators.
"""

from __future__ import annotations

PROCESSED, DUPLICATE, IGNORED, REJECTED, FAILED = (
    "processed",
    "duplicate",
    "ignored",
    "rejected",
    "failed",
)
RESULTS = (PROCESSED, DUPLICATE, IGNORED, REJECTED, FAILED)
# Final states only: a row is written in the transaction that decides it.
STATUSES = (PROCESSED, IGNORED, FAILED)
INVALID_SIGNATURE, PAYLOAD_MISMATCH, PROCESSING_ERROR = (
    "invalid_signature",
    "payload_mismatch",
    "processing_error",
)
ERROR_TYPES = (INVALID_SIGNATURE, PAYLOAD_MISMATCH, PROCESSING_ERROR)
