"""Gunicorn settings for the `web` process (see Procfile).

Prometheus multiprocess mode: each worker writes its metrics to files in
PROMETHEUS_MULTIPROC_DIR; the master empties that directory when it starts
and folds a dead worker's counters into one archive file (so scrapes stay
cheap however many workers are recycled) and drops its live gauges. The variable is set here, before
any worker imports prometheus_client, which picks its storage at import.
"""

import os
import shutil
import sys
import tempfile

# Before anything imports prometheus_client (the service package does):
# it chooses between in-memory and file-backed values once, at import, and
# workers inherit the master's choice when they fork.
_own_multiproc_dir = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
_multiproc_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.path.join(tempfile.gettempdir(), f"billing-notifier-prom-{os.getpid()}"),
)

from service.config import ConfigError, load_settings  # noqa: E402
from service.observability import fleet, multiproc  # noqa: E402
from service.observability.logging import gunicorn_logconfig, report_config_error  # noqa: E402

try:
    _settings = load_settings()
except ConfigError as exc:
    # Gunicorn's logging is not set up yet; this writes the one line itself.
    report_config_error(exc)
    sys.exit(2)

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{_settings.port}")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# gthread, not sync: a sync worker gives its whole process to one socket, so
# as many slow clients as workers (headers sent, body trickling) stalled
# every request. A gthread worker waits for a request's first bytes in its
# poller and runs requests on WEB_THREADS threads (docs/SECURITY.md); a health
# probe or a scrape is then served beside slow requests instead of queueing
# behind them (docs/PERFORMANCE.md).
worker_class = "gthread"
threads = _settings.web_threads
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
logger_class = "service.observability.gunicorn_logger.AccessLogger"
logconfig_dict = gunicorn_logconfig(_settings)
loglevel = _settings.log_level.lower()
proc_name = "billing-notifier-web"
# Several masters may share a host (tests, dev): no shared control socket.
control_socket_disable = True


def _drop_server_banner() -> None:
    """No `Server: gunicorn` header: it tells a scanner what to try. Gunicorn
    has no setting for it, so its default header list is filtered."""
    from gunicorn.http import wsgi as gunicorn_wsgi

    original = gunicorn_wsgi.Response.default_headers
    if getattr(original, "banner_dropped", False):
        return

    def default_headers(self):  # type: ignore[no-untyped-def]
        return [h for h in original(self) if not h.lower().startswith("server:")]

    default_headers.banner_dropped = True  # type: ignore[attr-defined]
    gunicorn_wsgi.Response.default_headers = default_headers  # type: ignore[method-assign]


_drop_server_banner()


def _build() -> dict[str, str]:
    return {"version": _settings.build_version, "commit": _settings.build_commit}


def on_starting(server):
    server.log.info("web starting", extra=_build())
    # Files from an earlier master would be summed into this one's counters.
    # Only the metric files go: the directory may be shared with other things.
    multiproc.clear(_multiproc_dir)
    server.log.info("prometheus multiprocess dir ready", extra={"path": _multiproc_dir})


def post_worker_init(worker):
    # One line per worker process with what it runs: deploys show in the logs
    # next to the alerts they cause (the runbook's "inspect recent deployments").
    worker.log.info("web worker started", extra=_build())
    # Fleet-wide metrics: flush webhook counts, publish this instance's HTTP
    # metrics (docs/ARCHITECTURE.md, "Metrics across a fleet").
    fleet.start(worker.wsgi)


def worker_exit(server, worker):
    fleet.stop()  # last flush and publish; a SIGKILL skips it (at most 1 s of counts lost)


def child_exit(server, worker):
    # Fold the dead worker's counter and histogram files into the archive:
    # scrape cost stays flat however many workers are recycled.
    try:
        multiproc.fold_process(_multiproc_dir, worker.pid)
    except Exception as exc:  # never take the master down; the next scrape folds it
        server.log.warning("metrics: fold of worker %s failed (%s)", worker.pid, type(exc).__name__)


def on_exit(server):
    if _own_multiproc_dir:
        shutil.rmtree(_multiproc_dir, ignore_errors=True)
