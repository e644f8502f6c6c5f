"""Pruning of job history past the retention age (called by the `retention` job)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from ..extensions import db
from .models import JobRun, JobRunRequest


def prune_job_history(cutoff: datetime) -> int:
    """Delete runs started, and finished run requests made, before `cutoff` (caller commits)."""
    runs = db.session.execute(delete(JobRun).where(JobRun.started_at < cutoff)).rowcount
    requests = db.session.execute(
        delete(JobRunRequest).where(
            JobRunRequest.finished_at.is_not(None), JobRunRequest.requested_at < cutoff
        )
    ).rowcount
    return runs + requests
