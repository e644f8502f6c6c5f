"""Per-request HTTP metrics, recorded by a thin WSGI middleware.

Cost matters (a benchmark holds it under 10% of throughput: `make bench`,
docs/PERFORMANCE.md), so a request does one histogram observation, and one
counter increment only on 5xx. The `path` label is the matched route
template, never the raw URL, so clients cannot grow the label set.

A middleware around `app.wsgi_app` rather than before/after_request hooks:
the hooks cost two hook dispatches and several reads through Flask's
context-local proxies per request (about 30 µs, against ~120 µs for a whole
/healthz), while the middleware reads the route from the request object
Werkzeug leaves in the environ. It also times every hook and error handler,
and sees the final status of every response, unhandled exceptions included.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from prometheus_client import Counter, Histogram

UNMATCHED = "<unmatched>"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
REQUEST_ID_KEY = "service.request_id"  # the environ key the logging filter reads
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

HTTP_LATENCY = Histogram(
    "http_request_latency_seconds",
    "HTTP request latency by method, route template and status class.",
    ["method", "path", "status_class"],
    buckets=LATENCY_BUCKETS,
)
HTTP_5XX = Counter(
    "http_5xx_total",
    "HTTP responses with a 5xx status, unhandled exceptions included.",
    ["method", "path", "status_class"],
)


def new_request_id() -> str:
    # 32 hex digits like uuid4().hex, without building a UUID object.
    return secrets.token_hex(16)


def route(environ: dict[str, Any]) -> str:
    """The matched route template, read from the request Werkzeug keeps in the
    environ (Flask clears it when the request context ends)."""
    rule = getattr(environ.get("werkzeug.request"), "url_rule", None)
    return rule.rule if rule is not None else UNMATCHED


# (method, route template, status class) -> the histogram child and, for 5xx,
# the counter child. `labels()` validates and locks on every call; the key
# set is small and bounded (known methods or OTHER, route templates or
# <unmatched>, ten status classes), so each is looked up once per process.
_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _children(method: str, path: str, status_class: int) -> tuple[Any, Any]:
    labels = (method, path, f"{status_class}xx")
    found = (HTTP_LATENCY.labels(*labels), HTTP_5XX.labels(*labels) if status_class >= 5 else None)
    _CHILDREN[(method, path, status_class)] = found
    return found


def record(method: str, path: str, status: int, seconds: float) -> None:
    method = method if method in KNOWN_METHODS else "OTHER"
    status_class = status // 100
    found = _CHILDREN.get((method, path, status_class))
    latency, errors = found if found is not None else _children(method, path, status_class)
    latency.observe(seconds)
    if errors is not None:
        errors.inc()


class RequestMetrics:
    """Times each request, labels it by route template, sets X-Request-ID."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else new_request_id()
        environ[REQUEST_ID_KEY] = request_id
        status, path = 500, UNMATCHED  # if the app raises past Flask's own handlers

        def start(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal status, path
            # Called while the request context is still active: the route is known.
            status, path = int(status_line[:3]), route(environ)
            headers.append(("X-Request-ID", request_id))
            return start_response(status_line, headers, exc_info)

        try:
            return self.wsgi_app(environ, start)
        finally:
            method = environ.get("REQUEST_METHOD", "")
            record(method, path, status, time.perf_counter() - started)


def init_app(app: Flask) -> None:
    app.wsgi_app = RequestMetrics(app.wsgi_app)  # type: ignore[method-assign]  # the WSGI middleware pattern
