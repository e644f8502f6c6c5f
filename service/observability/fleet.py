"""The per-process metrics ticker: flushes fleet counters, publishes HTTP metrics.

Started in each Gunicorn worker by `post_worker_init` (gunicorn.conf.py) and
stopped by `worker_exit`; a daemon thread, so requests never wait for it.
Each tick runs in its own app context; a failed write is logged and retried
at the next tick (counts stay buffered meanwhile).

Every process flushes its own counter buffer. Publishing the HTTP families is
one process's job per Gunicorn master (they all read the same files): the
worker holding the directory's publisher lock (`multiproc.claim_publisher`;
the next worker takes it over when the holder dies). It publishes every
PUBLISH_INTERVAL_SECONDS, or less often when reading the files is slow (at
most PUBLISH_CPU_SHARE of the time goes to it), so a large label set cannot
turn the ticker into a load of its own; scrapes publish as they come anyway.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from flask import Flask

from ..db import run_bounded
from ..extensions import db
from . import fleet_counters, fleet_http, multiproc

EXIT_BOUND_SECONDS = 3.0
PUBLISH_CPU_SHARE = 0.05
log = logging.getLogger(__name__)


class Ticker:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.dyno: str = app.config["SETTINGS"].dyno
        self.stopped = threading.Event()
        self.last_published: tuple[str, str] | None = None  # (boot, body)
        self.last_publish_at = 0.0
        self.failing = False  # log a database outage once, not every second
        self.publisher_fd: int | None = None
        self.publish_seconds = 0.0  # how long the last publish took

    def is_publisher(self) -> bool:
        """Whether this process publishes its master's HTTP families."""
        path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not path:
            return True  # a single process: its own registry
        if self.publisher_fd is None:
            self.publisher_fd = multiproc.claim_publisher(path)
        return self.publisher_fd is not None

    def flush(self) -> None:
        fleet_counters.flush_all(self.dyno)

    def publish(self, force: bool = False) -> None:
        started = time.monotonic()
        try:
            self._publish(force)
        finally:
            self.publish_seconds = time.monotonic() - started

    def _publish(self, force: bool) -> None:
        boot, read_ns, snapshot = fleet_http.local_snapshot()
        body = repr(sorted(snapshot.items()))
        fresh = time.monotonic() - self.last_publish_at < fleet_http.HEARTBEAT_SECONDS
        if not force and fresh and self.last_published == (boot, body):
            return  # nothing new, and the row was touched recently
        fleet_http.publish(self.dyno, boot, read_ns, snapshot)
        self.last_published, self.last_publish_at = (boot, body), time.monotonic()

    def _step(self, publish: bool) -> None:
        with self.app.app_context():
            try:
                self.flush()
                if publish:
                    self.publish()
            except Exception as exc:
                if not self.failing:
                    log.warning(
                        "metrics ticker: database write failed (%s); counts stay buffered",
                        type(exc).__name__,
                    )
                self.failing = True
            else:
                if self.failing:
                    log.info("metrics ticker: database writes resumed")
                self.failing = False
            finally:
                db.session.remove()

    def run(self) -> None:
        next_publish = time.monotonic()
        while not self.stopped.wait(fleet_counters.FLUSH_INTERVAL_SECONDS):
            publish = time.monotonic() >= next_publish and self.is_publisher()
            self._step(publish)
            if publish:
                next_publish = time.monotonic() + self.publish_pause()

    def publish_pause(self) -> float:
        """Seconds until the next periodic publish."""
        return max(fleet_http.PUBLISH_INTERVAL_SECONDS, self.publish_seconds / PUBLISH_CPU_SHARE)

    def final(self) -> None:
        """Last flush and publish of an exiting process, bounded in time."""
        self.stopped.set()

        def write() -> None:
            self.flush()
            self.publish(force=True)

        try:
            run_bounded(write, EXIT_BOUND_SECONDS, app=self.app)
        except Exception as exc:
            log.warning("metrics: final flush failed (%s)", type(exc).__name__)


_tickers: dict[int, Ticker] = {}


def start(app: Flask) -> Ticker:
    """Start this process's ticker (once per process)."""
    ticker = _tickers.get(os.getpid())
    if ticker is None:
        ticker = _tickers[os.getpid()] = Ticker(app)
        threading.Thread(target=ticker.run, name="metrics-ticker", daemon=True).start()
        atexit.register(stop)
    return ticker


def stop() -> None:
    ticker = _tickers.pop(os.getpid(), None)
    if ticker is not None:
        ticker.final()
