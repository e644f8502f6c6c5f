"""The baseline app: `create_app()` without the HTTP metrics request hooks.

Everything else (config, blueprints, error handlers, logging) is identical to
`wsgi:app`, so the difference between the two is the cost of instrumentation.
Served by Gunicorn as `bench.wsgi_baseline:app`.
"""

from __future__ import annotations

from flask import Flask

from service import create_app
from service.observability import metrics as http_metrics


def strip_http_metrics(app: Flask) -> Flask:
    """Remove `_start_request`/`_record_request` from the app-wide hook lists."""
    before = app.before_request_funcs.get(None, [])
    after = app.after_request_funcs.get(None, [])
    if http_metrics._start_request not in before or http_metrics._record_request not in after:
        raise RuntimeError("the HTTP metrics hooks are not where the baseline expects them")
    before.remove(http_metrics._start_request)
    after.remove(http_metrics._record_request)
    return app


app = strip_http_metrics(create_app())
