"""Pruning of history past the retention age (the `retention` job's logic)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete

from ..email.outbox import prune_sent
from ..extensions import db
from ..observability.fleet_counters import fold_idle
from ..observability.fleet_http import fold_idle_boots
from ..timeutil import utcnow
from ..webhooks.retention import prune_webhook_events
from .models import JobRun, JobRunRequest


def prune_job_history(cutoff: datetime) -> int:
    runs = db.session.execute(delete(JobRun).where(JobRun.started_at < cutoff)).rowcount
    requests = db.session.execute(
        delete(JobRunRequest).where(
            JobRunRequest.finished_at.is_not(None), JobRunRequest.requested_at < cutoff
        )
    ).rowcount
    return runs + requests


def prune_all(retention_days: int) -> dict[str, int]:
    """Delete what is older than the retention age, domain by domain; one commit."""
    cutoff = utcnow() - timedelta(days=retention_days)
    pruned = {"job_history": prune_job_history(cutoff), "email": prune_sent(cutoff)}
    pruned["webhook_events"] = prune_webhook_events(cutoff)
    # Not pruning: folding idle shards and dead generations keeps scrapes cheap.
    pruned["counter_shards_folded"] = fold_idle()
    pruned["metric_boots_folded"] = fold_idle_boots()
    db.session.commit()
    return pruned
