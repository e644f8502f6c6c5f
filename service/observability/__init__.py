"""Logging, request metrics, health checks and the /metrics endpoint."""

from flask import Flask


def init_app(app: Flask) -> None:
    """The request-metrics middleware, /healthz, /readyz and /metrics."""
    from . import metrics, views

    metrics.init_app(app)
    views.init_app(app)
