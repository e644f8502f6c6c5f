"""Row 1: webhook ingest, the service vs the floor any correct handler pays.

Candidate: the service as deployed (Procfile web line, gunicorn.conf.py,
PostgreSQL). Baseline and A/A control: bench/apps/minimal_webhook.py (verify
with the Stripe library, parse, three SQL statements in one transaction on
the same database) under the same worker settings. Every round sends each
server its own distinct signed `invoice.paid` deliveries.
"""

from __future__ import annotations

from . import pg, sidebyside
from .apps import minimal_webhook
from .results import Outcome
from .server import BARE_CONFIG, RunContext

TARGET = 0.70
APPS = {
    "candidate": sidebyside.App("wsgi:app"),
    "baseline": sidebyside.App("bench.apps.minimal_webhook:app", BARE_CONFIG),
    "control": sidebyside.App("bench.apps.minimal_webhook:app", BARE_CONFIG),
}
NAMES = {"candidate": "wsgi:app", "baseline": "minimal Flask", "control": "minimal Flask"}


def run(ctx: RunContext) -> Outcome:
    minimal_webhook.create_schema(ctx.database_url)
    before = pg.count(ctx.database_url, "SELECT count(*) FROM webhook_event")
    epochs, rounds, seconds = (1, 1, 1.0) if ctx.quick else (2, 4, 3.0)
    result = sidebyside.compare("ingest", APPS, sidebyside.Load(None), ctx, epochs, rounds, seconds)
    rows = result.rows(
        "1. Webhook ingest",
        f"signed distinct invoice.paid, events/s, medians of {len(result.rounds)} rounds",
        TARGET,
        "events/s",
    )
    stored = pg.count(ctx.database_url, "SELECT count(*) FROM webhook_event") - before
    answered = sum(r["candidate"].throughput.requests for r in result.rounds)
    details = result.details(NAMES)
    details.append(
        f"Exactly once: the service answered {answered:,} deliveries in the rounds and stored"
        f" {stored - sidebyside.WARM_UP_REQUESTS * epochs:,} new events (warm-up excluded)."
    )
    return Outcome(rows, details)
