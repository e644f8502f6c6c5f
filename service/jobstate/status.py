"""Read side of job state, for /readyz, /v1/admin/jobs/status and /metrics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import current_app
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import select

from ..extensions import db
from ..timeutil import isoformat, timestamp, utcnow
from . import counters
from .catalogue import LEADER_LEASE, job_ttls
from .models import JobState, Lease


def expected_jobs() -> dict[str, float]:
    """Job name -> TTL in force, from the catalogue the worker schedules."""
    return job_ttls(current_app.config["SETTINGS"])


def _age(value: datetime | None, now: datetime) -> float | None:
    return None if value is None else round(max((now - value).total_seconds(), 0.0), 3)


def job_statuses() -> list[dict[str, Any]]:
    now = utcnow()
    ttls = expected_jobs()
    rows = {row.name: row for row in db.session.scalars(select(JobState))}
    statuses = []
    for name in sorted(set(ttls) | set(rows)):
        row = rows.get(name)
        ttl = (row.ttl_seconds if row and row.ttl_seconds else None) or ttls.get(name, 0.0)
        age = _age(row.last_heartbeat if row else None, now)
        statuses.append(
            {
                "job": name,
                "last_heartbeat": isoformat(row.last_heartbeat) if row else None,
                "last_success": isoformat(row.last_success_at) if row else None,
                "last_started": isoformat(row.last_started_at) if row else None,
                "last_duration_seconds": row.last_duration_seconds if row else None,
                "consecutive_failures": row.consecutive_failures if row else 0,
                "heartbeat_age_seconds": age,
                "ttl_seconds": ttl,
                "up": age is not None and age < ttl,
                "last_error": row.last_error if row else None,
                "scheduled": name in ttls,
            }
        )
    return statuses


def leader() -> dict[str, Any] | None:
    lease = db.session.get(Lease, LEADER_LEASE)
    if lease is None or lease.holder is None or lease.expires_at is None:
        return None
    if lease.expires_at <= utcnow():
        return None
    return {
        "host": lease.host,
        "pid": lease.pid,
        "since": isoformat(lease.acquired_at),
        "expires_at": isoformat(lease.expires_at),
        "fencing_token": lease.token,
    }


def readiness() -> dict[str, Any]:
    jobs = {
        s["job"]: {
            "ok": s["up"],
            "last_heartbeat": s["last_heartbeat"],
            "heartbeat_age_seconds": s["heartbeat_age_seconds"],
            "ttl_seconds": s["ttl_seconds"],
        }
        for s in job_statuses()
        if s["scheduled"]
    }
    return {"ok": bool(jobs) and all(j["ok"] for j in jobs.values()), "jobs": jobs}


def _gauge(name: str, help_text: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, labels=["job"])


def metric_families() -> Iterator[Metric]:
    heartbeat = _gauge("job_last_heartbeat_timestamp", "Last job heartbeat, unix seconds.")
    success = _gauge("job_last_success_timestamp", "Last successful job run, unix seconds.")
    up = _gauge("job_runner_up", "1 while the job's heartbeat is younger than its TTL.")
    ttl = _gauge("job_heartbeat_ttl_seconds", "Heartbeat TTL in force for the job.")
    rows = {row.name: row for row in db.session.scalars(select(JobState))}
    # Only scheduled jobs: a renamed or retired job's old row would otherwise
    # report up=0 forever and keep the stale-heartbeat alert firing.
    for status in (s for s in job_statuses() if s["scheduled"]):
        name, row = status["job"], rows.get(status["job"])
        if row is not None and row.last_heartbeat is not None:
            heartbeat.add_metric([name], timestamp(row.last_heartbeat))
        if row is not None and row.last_success_at is not None:
            success.add_metric([name], timestamp(row.last_success_at))
        up.add_metric([name], 1.0 if status["up"] else 0.0)
        ttl.add_metric([name], status["ttl_seconds"])
    yield from (heartbeat, success, up, ttl)
    yield from counters.metric_families()
