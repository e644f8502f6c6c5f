"""Per-request HTTP metrics, recorded in request hooks.

Cost matters (a benchmark holds it under 10% of throughput: `make bench`,
docs/PERFORMANCE.md), so a request does one histogram observation, and one
counter increment only on 5xx. The `path` label is the matched route
template, never the raw URL, so clients cannot grow the label set.

Each hook resolves `request` and `g` once (`_get_current_object()`): a read
through one of Flask's context-local proxies costs 1-2 µs, and the eight of
them per request in the first version, with a uuid4() for the request id,
were most of the hooks' own cost (37 µs per request, 10 µs since).
"""

from __future__ import annotations

import re
import secrets
import time

from flask import Flask, Request, Response, g, request
from prometheus_client import Counter, Histogram

UNMATCHED = "<unmatched>"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
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


def _new_request_id() -> str:
    # 32 hex digits like uuid4().hex, without building a UUID object.
    return secrets.token_hex(16)


def _labels(req: Request, status: int) -> tuple[str, str, str]:
    rule = req.url_rule
    method = req.method if req.method in KNOWN_METHODS else "OTHER"
    return method, rule.rule if rule is not None else UNMATCHED, f"{status // 100}xx"


def _start_request() -> None:
    state = g._get_current_object()
    state.request_started = time.perf_counter()
    incoming = request._get_current_object().environ.get("HTTP_X_REQUEST_ID", "")
    valid = incoming and _REQUEST_ID.match(incoming)
    state.request_id = incoming if valid else _new_request_id()


def _record_request(response: Response) -> Response:
    state = g._get_current_object()
    status = response.status_code
    labels = _labels(request._get_current_object(), status)
    started = getattr(state, "request_started", None)
    if started is not None:
        HTTP_LATENCY.labels(*labels).observe(time.perf_counter() - started)
    if status >= 500:
        HTTP_5XX.labels(*labels).inc()
    response.headers["X-Request-ID"] = getattr(state, "request_id", None) or _new_request_id()
    return response


def init_app(app: Flask) -> None:
    # Registered before any other hook so every request is timed from the start.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.after_request(_record_request)
