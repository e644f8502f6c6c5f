"""Row 1: webhook ingest, the service vs the floor any correct handler pays.

Candidate: the service as deployed (Procfile web line, gunicorn.conf.py,
PostgreSQL). Baseline and A/A control: bench/apps/minimal_webhook.py (verify
with the Stripe library, parse, three SQL statements in one transaction on
the same database) under the same worker settings. Every round sends each
server its own distinct signed `invoice.paid` deliveries.
"""

from __future__ import annotations

import json
import subprocess
import sys

from . import pg, sidebyside
from .apps import minimal_webhook
from .results import Outcome, Row
from .server import BARE_CONFIG, ROOT, RunContext

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
    per_event = statements_per_event(ctx.database_url)
    sql = sum(n for name, n in per_event.items() if name not in ("BEGIN", "COMMIT", "ROLLBACK"))
    rows.append(
        Row(
            "1. Webhook ingest",
            "SQL statements per event (transactions committed)",
            "3 (1)",
            f"{sql:g} ({per_event.get('COMMIT', 0):g})",
            sql / 3,
            "-",
            None,
        )
    )
    details.append(
        "Per event, counted at the driver (python -m bench.statements): "
        + ", ".join(f"{name} {n:g}" for name, n in per_event.items())
        + "."
    )
    return Outcome(rows, details)


def statements_per_event(database_url: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.statements", database_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])
