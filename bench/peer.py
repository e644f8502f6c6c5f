"""Row 5: our WSGI metrics middleware vs prometheus-flask-exporter, same app.

Candidate: `wsgi:app` (our `RequestMetrics`). Baseline and A/A control:
bench/apps/exporter.py, the same `create_app()` with our middleware
unwrapped and prometheus-flask-exporter configured for the same families
(latency histogram by method, route template and status with our buckets;
its request and exception counters). Both under the service's own
gunicorn.conf.py, loaded with `GET /healthz`, where the instrumentation's
share of a request is largest. A ratio above 1.00 means ours is cheaper.
"""

from __future__ import annotations

from . import sidebyside
from .results import Outcome, Row
from .server import RunContext

APPS = {
    "candidate": sidebyside.App("wsgi:app"),
    "baseline": sidebyside.App("bench.apps.exporter:app"),
    "control": sidebyside.App("bench.apps.exporter:app"),
}
NAMES = {
    "candidate": "RequestMetrics middleware",
    "baseline": "prometheus-flask-exporter",
    "control": "prometheus-flask-exporter",
}


def run(ctx: RunContext) -> Outcome:
    epochs, rounds, seconds = (1, 1, 1.0) if ctx.quick else (2, 4, 2.0)
    load = sidebyside.Load("/healthz")
    result = sidebyside.compare("peer", APPS, load, ctx, epochs, rounds, seconds)
    ratio, control = result.ratio(), result.ratio("control")
    base = f"{result.rps('baseline'):,.0f} req/s"
    label = "5. Peer: metrics middleware"
    rows = [
        Row(
            label,
            "GET /healthz req/s: ours / prometheus-flask-exporter on the same app",
            base,
            f"{result.rps('candidate'):,.0f} req/s",
            ratio,
            "shown, no target (>= 1.00: ours is cheaper)",
            None,
        ),
        Row(
            label,
            "A/A control: a second exporter server",
            base,
            f"{result.rps('control'):,.0f} req/s",
            control,
            "1.00 up to noise",
            None,
        ),
        Row(
            label,
            "worker CPU per request, ours / exporter (cross-check; < 1.00: ours is cheaper)",
            "-",
            "-",
            result.cpu_ratio(),
            "-",
            None,
        ),
    ]
    return Outcome(rows, result.details(NAMES))
