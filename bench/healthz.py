"""Row 4: `GET /healthz`, the service's whole request path vs bare Flask.

Candidate: `wsgi:app` under the service's own gunicorn.conf.py with
production settings (JSON logs, the JSON access log on, request ids, the
metrics middleware). Baseline and A/A control: bench/apps/bare_flask.py,
a Flask app with one view, under bench/apps/gunicorn_logged.py: the same
worker settings and, like the service's gunicorn.conf.py, an access log on
stderr, in Gunicorn's own text format. The logging path is part of the
product, so it is inside the measured path; a fourth server, bare Flask with
no access log at all (bench/apps/gunicorn_bare.py), shows its whole cost.
"""

from __future__ import annotations

from . import sidebyside, stats
from .results import Outcome, Row
from .server import BARE_CONFIG, LOGGED_CONFIG, RunContext

TARGET = 0.90
APPS = {
    "candidate": sidebyside.App("wsgi:app"),
    "baseline": sidebyside.App("bench.apps.bare_flask:app", LOGGED_CONFIG),
    "control": sidebyside.App("bench.apps.bare_flask:app", LOGGED_CONFIG),
    "unlogged": sidebyside.App("bench.apps.bare_flask:app", BARE_CONFIG),
}
NAMES = {
    "candidate": "wsgi:app",
    "baseline": "bare Flask, Gunicorn's access log",
    "control": "bare Flask, Gunicorn's access log",
    "unlogged": "bare Flask, no access log",
}


def run(ctx: RunContext) -> Outcome:
    epochs, rounds, seconds = (1, 1, 1.0) if ctx.quick else (2, 4, 2.0)
    load = sidebyside.Load("/healthz")
    result = sidebyside.compare("healthz", APPS, load, ctx, epochs, rounds, seconds)
    rows = result.rows(
        "4. Full request path",
        f"GET /healthz req/s, production settings vs bare Flask with Gunicorn's access log,"
        f" medians of {len(result.rounds)} rounds",
        TARGET,
    )
    unlogged = result.ratio_to("candidate", "unlogged")
    rows.append(
        Row(
            "4. Full request path",
            "reference: the same, against bare Flask with no access log at all",
            f"{stats.median([r['unlogged'].throughput.rps for r in result.rounds]):,.0f} req/s",
            f"{result.rps('candidate'):,.0f} req/s",
            unlogged,
            "- (the whole cost of logging)",
            None,
        )
    )
    return Outcome(rows, result.details(NAMES))
