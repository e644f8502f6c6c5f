"""Webhook counters: fleet-wide and durable (see observability/fleet_counters.py).

A delivery costs one in-memory addition; the process's metrics ticker writes
the counts to its shard row about once a second, and every instance's
/metrics reports the sum over all shards, so all instances agree.
"""

from __future__ import annotations

from flask import current_app
from prometheus_client.core import CounterMetricFamily

from ..observability.fleet_counters import ShardedCounters, flush_all
from .statuses import ERROR_TYPES, RESULTS

EVENTS = "webhook_events_total"
ERRORS = "webhook_errors_total"
COUNTERS = ShardedCounters(
    {
        EVENTS: ("Stripe webhook deliveries by result.", ("result",)),
        ERRORS: ("Stripe webhook errors by type.", ("type",)),
    }
)
# Every label value is exposed from the start, at 0, so alert expressions see a series.
PRIMED = {EVENTS: tuple((r,) for r in RESULTS), ERRORS: tuple((t,) for t in ERROR_TYPES)}
_EVENT_LABELS = {result: (("result", result),) for result in RESULTS}
_ERROR_LABELS = {error_type: (("type", error_type),) for error_type in ERROR_TYPES}


def count(result: str, error_type: str | None = None) -> None:
    COUNTERS.add(EVENTS, _EVENT_LABELS.get(result) or (("result", result),))
    if error_type is not None:
        COUNTERS.add(ERRORS, _ERROR_LABELS.get(error_type) or (("type", error_type),))


def metric_families() -> list[CounterMetricFamily]:
    """Scrape-time provider: this process's buffered counts first, then the sums."""
    flush_all(current_app.config["SETTINGS"].dyno)
    return list(COUNTERS.metric_families(PRIMED))
