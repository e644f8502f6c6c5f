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
    """Unlink `RequestMetrics` from the chain of WSGI middlewares around the app
    (others, such as the security ones, wrap it and stay)."""
    holder: object = app
    layer = app.wsgi_app
    while not isinstance(layer, http_metrics.RequestMetrics):
        if not hasattr(layer, "wsgi_app"):
            raise RuntimeError("the HTTP metrics middleware is not where the baseline expects it")
        holder, layer = layer, layer.wsgi_app
    holder.wsgi_app = layer.wsgi_app  # type: ignore[attr-defined]
    return app


app = strip_http_metrics(create_app())
