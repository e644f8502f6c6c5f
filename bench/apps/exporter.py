"""The service with prometheus-flask-exporter in place of our WSGI middleware (row 5).

Same `create_app()`, our `RequestMetrics` unwrapped, and the exporter
configured for the same families: request latency as a histogram with our
buckets, labelled by method, route template (`url_rule`) and status, plus
its request and exception counters (its defaults). Its own endpoint is off
(`path=None`); it writes to the same multiprocess files as ours would.
"""

from prometheus_flask_exporter import NO_PREFIX, PrometheusMetrics

from bench.apps.wsgi_baseline import strip_http_metrics
from service import create_app
from service.observability.metrics import LATENCY_BUCKETS

app = strip_http_metrics(create_app())
PrometheusMetrics(
    app,
    path=None,
    defaults_prefix=NO_PREFIX,
    group_by="url_rule",
    buckets=LATENCY_BUCKETS,
)
