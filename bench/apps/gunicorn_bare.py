"""Gunicorn settings for the bare baselines: the production worker settings, no logging.

The values that decide capacity (worker class, workers, threads, keep-alive,
timeouts) are read from the service's own gunicorn.conf.py, so a change
there moves baseline and service together; the access log, the JSON
formatter and the hooks are left out. That is what "bare Flask under the
same Gunicorn settings" means in docs/PERFORMANCE.md.
"""

import runpy
from pathlib import Path

_production = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
_SHARED = (
    "bind",
    "workers",
    "worker_class",
    "threads",
    "worker_connections",
    "keepalive",
    "timeout",
    "graceful_timeout",
    "backlog",
    "max_requests",
    "max_requests_jitter",
    "forwarded_allow_ips",
    "control_socket_disable",
)
globals().update({name: _production[name] for name in _SHARED if name in _production})
accesslog = None
proc_name = "bench-bare"
