"""Row 4: `GET /healthz`, the service's whole request path vs bare Flask.

Candidate: `wsgi:app` under the service's own gunicorn.conf.py with
production settings (JSON logs, the JSON access log on, request ids, the
metrics middleware). Baseline and A/A control: bench/apps/bare_flask.py,
a Flask app with one view, under bench/apps/gunicorn_bare.py (the same
worker settings, no access log). The logging path is part of the product,
so it is inside the measured path.
"""

from __future__ import annotations

from . import sidebyside
from .results import Outcome
from .server import BARE_CONFIG, RunContext

TARGET = 0.90
APPS = {
    "candidate": sidebyside.App("wsgi:app"),
    "baseline": sidebyside.App("bench.apps.bare_flask:app", BARE_CONFIG),
    "control": sidebyside.App("bench.apps.bare_flask:app", BARE_CONFIG),
}
NAMES = {"candidate": "wsgi:app", "baseline": "bare Flask", "control": "bare Flask"}


def run(ctx: RunContext) -> Outcome:
    epochs, rounds, seconds = (1, 1, 1.0) if ctx.quick else (2, 4, 2.0)
    load = sidebyside.Load("/healthz")
    result = sidebyside.compare("healthz", APPS, load, ctx, epochs, rounds, seconds)
    rows = result.rows(
        "4. Full request path",
        f"GET /healthz req/s, production settings vs bare Flask,"
        f" medians of {len(result.rounds)} rounds",
        TARGET,
    )
    return Outcome(rows, result.details(NAMES))
