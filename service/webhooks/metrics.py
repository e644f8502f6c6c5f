"""Web-tier webhook counters (prometheus_client; summed across Gunicorn workers)."""

from __future__ import annotations

from prometheus_client import Counter

from .statuses import ERROR_TYPES, RESULTS

WEBHOOK_EVENTS = Counter(
    "webhook_events_total",
    "Stripe webhook deliveries by result.",
    ["result"],
)
WEBHOOK_ERRORS = Counter(
    "webhook_errors_total",
    "Stripe webhook errors by type.",
    ["type"],
)


def prime() -> None:
    """Expose every label value at 0 so alert expressions see a series from the start."""
    for result in RESULTS:
        WEBHOOK_EVENTS.labels(result)
    for error_type in ERROR_TYPES:
        WEBHOOK_ERRORS.labels(error_type)


def count(result: str, error_type: str | None = None) -> None:
    WEBHOOK_EVENTS.labels(result).inc()
    if error_type is not None:
        WEBHOOK_ERRORS.labels(error_type).inc()
