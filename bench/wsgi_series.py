"""A bench-only app with many route templates, to grow the metric label set.

`/bench/r<i>/<int:status>` answers every method in METHODS with the status it
is asked for, so ROUTES x METHODS x status classes distinct label sets can be
driven on purpose. Served by Gunicorn as `bench.wsgi_series:app`.
"""

from __future__ import annotations

import os

from flask import Flask, Response

from service import create_app

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
STATUSES = (200, 302, 404, 500)  # one per status class a client can see
ROUTES = int(os.environ.get("BENCH_SERIES_ROUTES", "25"))


def _answer(status: int) -> Response:
    return Response(b"", status=status)


def add_series_routes(app: Flask, routes: int) -> Flask:
    for i in range(routes):
        app.add_url_rule(f"/bench/r{i}/<int:status>", f"bench_r{i}", _answer, methods=list(METHODS))
    return app


app = add_series_routes(create_app(), ROUTES)
