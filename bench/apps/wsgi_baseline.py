"""The baseline app: `create_app()` without the HTTP metrics middleware.

Everything else (config, blueprints, error handlers, logging) is identical to
`wsgi:app`, so the difference between the two is the cost of instrumentation.
Served by Gunicorn as `bench.wsgi_baseline:app`.
"""

from __future__ import annotations

from flask import Flask

from service import create_app
from service.observability import metrics as http_metrics


def strip_http_metrics(app: Flask) -> Flask:
    """Unwrap `RequestMetrics` from `app.wsgi_app`."""
    if not isinstance(app.wsgi_app, http_metrics.RequestMetrics):
        raise RuntimeError("the HTTP metrics middleware is not where the baseline expects it")
    app.wsgi_app = app.wsgi_app.wsgi_app  # type: ignore[method-assign]
    return app


app = strip_http_metrics(create_app())
