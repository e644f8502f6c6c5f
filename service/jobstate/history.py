"""Pruning of job history past the retention age (called by the `retention` job)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from ..db import rows_changed
from .models import JobRun, JobRunRequest


def prune_job_history(cutoff: datetime) -> int:
    """Delete runs started, and finished run requests made, before `cutoff` (caller commits)."""
    runs = rows_changed(delete(JobRun).where(JobRun.started_at < cutoff))
    requests = rows_changed(
        delete(JobRunRequest).where(
            JobRunRequest.finished_at.is_not(None), JobRunRequest.requested_at < cutoff
        )
    )
    return runs + requests
