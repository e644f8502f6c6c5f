"""Metric families read from the database at scrape time.

The worker serves no port: what it records (heartbeats, durable counters,
DLQ sizes, breaker states) reaches Prometheus through the database and this
collector, whichever Gunicorn worker answers the scrape. Domains register a
provider with `registry.add_provider(app, fn)`; a provider returns metric
families.
When the database cannot be read within the bound, the families are left out
and `metrics_database_up` is 0.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from flask import Flask
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import text

from ..db import run_bounded
from ..extensions import db
from .recent import Recent
from .registry import add_provider, registry

__all__ = ["DatabaseCollector", "add_provider"]
SCRAPE_DB_TIMEOUT_SECONDS = 2.5
log = logging.getLogger(__name__)


class DatabaseCollector:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self._recent: Recent[tuple[list[Metric], int]] = Recent()

    def _read_bounded(self) -> tuple[list[Metric], int]:
        try:
            return run_bounded(self._read_all, SCRAPE_DB_TIMEOUT_SECONDS, app=self.app), 1
        except Exception as exc:
            log.warning("metrics: database-backed families skipped (%s)", type(exc).__name__)
            return [], 0

    def _read_all(self) -> list[Metric]:
        # Even with no provider, "up" must mean the database answered.
        db.session.execute(text("SELECT 1"))
        families: list[Metric] = []
        for provider in registry(self.app).providers:
            families.extend(provider())
        return families

    def collect(self) -> Iterator[Metric]:
        settings = self.app.config["SETTINGS"]
        build = GaugeMetricFamily(
            "service_build_info",
            "Build of the running service; always 1.",
            labels=["version", "commit"],
        )
        build.add_metric([settings.build_version, settings.build_commit], 1)
        yield build
        # Reused for PROBE_CACHE_SECONDS per worker: a scrape under load must
        # not wait on a dozen round trips (docs/PERFORMANCE.md). The
        # fallbacks (this process's own counts) are read fresh each time.
        families, up = self._recent.get(settings.probe_cache_seconds, self._read_bounded)
        if not up:
            families = [f for fallback in registry(self.app).fallbacks for f in fallback()]
        yield from families
        yield GaugeMetricFamily(
            "metrics_database_up",
            "1 when this scrape read the database-backed metric families, else 0.",
            value=up,
        )
