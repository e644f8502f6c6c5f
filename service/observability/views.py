"""Blueprints `health` (/healthz, /readyz) and `metrics` (/metrics)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text

from ..db import DatabaseTimeout, run_bounded
from ..extensions import db
from . import fleet_http
from .collector import DatabaseCollector
from .recent import Recent
from .registry import add_primer, add_provider, registry

__all__ = ["add_primer", "health", "init_app", "metrics"]  # add_primer: registry.py

READY_DB_TIMEOUT_SECONDS = 1.5
log = logging.getLogger(__name__)
health = Blueprint("health", __name__)
metrics = Blueprint("metrics", __name__)


def _probe() -> tuple[float, dict[str, dict[str, Any]]]:
    started = time.perf_counter()
    db.session.execute(text("SELECT 1"))
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    return latency_ms, {part.key: part.read() for part in registry(current_app).readiness}


@health.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@health.get("/readyz")
def readyz() -> tuple[Response, int]:
    body, status = readiness_report()
    return jsonify(body), status


def _check_database() -> dict[str, Any]:
    """The database part of /readyz: what a bounded probe found, or why it failed."""
    try:
        latency_ms, parts = run_bounded(_probe, READY_DB_TIMEOUT_SECONDS)
    except Exception as exc:
        reason = "timeout" if isinstance(exc, DatabaseTimeout) else "unavailable"
        log.warning("readiness: database check failed (%s: %s)", reason, type(exc).__name__)
        return {"ok": False, "error": reason}
    return {"ok": True, "latency_ms": latency_ms, "parts": parts}


def readiness_report() -> tuple[dict[str, Any], int]:
    """/readyz's body and status (also the console's overview verdict)."""
    settings = current_app.config["SETTINGS"]
    build = {"version": settings.build_version, "commit": settings.build_commit}
    # A probe must not queue behind the database under load: each worker
    # reuses its last answer for PROBE_CACHE_SECONDS (docs/PERFORMANCE.md).
    found = current_app.extensions["readyz_recent"].get(
        settings.probe_cache_seconds, _check_database
    )
    if not found["ok"]:
        body = {
            "status": "fail",
            "database": {"ok": False, "error": found["error"]},
            **{part.key: part.unavailable for part in registry(current_app).readiness},
            "build": build,
        }
        return body, 503
    parts = found["parts"]
    # Nothing registered (no job catalogue) is not ready either.
    ready = bool(parts) and all(part["ok"] for part in parts.values())
    body = {
        "status": "ok" if ready else "degraded",
        "database": {"ok": True, "latency_ms": found["latency_ms"]},
        **parts,
        "build": build,
    }
    return body, 200


class _Scrape:
    """What one scrape reads: this process's own families (outside Gunicorn:
    Python's process and GC metrics), then the database-backed ones, which
    include every instance's HTTP families (fleet_http.py)."""

    def __init__(self, *sources: Any) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


class _ProcessOnly:
    """The in-process registry without the HTTP families (reported fleet-wide)."""

    def collect(self) -> Iterator[Metric]:
        for family in REGISTRY.collect():
            if family.name not in fleet_http.FAMILIES:
                yield family


def _scrape() -> _Scrape:
    database = current_app.extensions["db_collector"]
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # The Gunicorn workers' files hold only HTTP families: read via the database.
        return _Scrape(database)
    return _Scrape(_ProcessOnly(), database)  # single process (flask run, the test client)


# METRICS_TOKEN is checked app-wide before routing (service/auth.py), so
# OPTIONS and HEAD need the token too.
@metrics.get("/metrics")
def metrics_endpoint() -> Response:
    # Primers run here, not at app creation, so only the web tier creates
    # per-process series: the worker and release processes must not write
    # multiprocess files.
    for primer in registry(current_app).primers:
        primer()
    body = generate_latest(_scrape())
    return Response(body, content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.extensions["db_collector"] = DatabaseCollector(app)
    app.extensions["readyz_recent"] = Recent()
    add_provider(app, fleet_http.metric_families, fallback=fleet_http.local_families)
    app.register_blueprint(health)
    app.register_blueprint(metrics)
