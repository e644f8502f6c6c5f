"""Bookkeeping for job runs: what the runbook's job signals are made of.

Every write commits on its own, so a run that crashes half-way still leaves
its heartbeat and start time, and a failure is recorded even though the job's
own transaction was rolled back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..db import insert_if_absent
from ..extensions import db
from ..redaction import error_text
from ..timeutil import utcnow
from . import counters
from .models import JobRun, JobState

_REASON = re.compile(r"[^A-Za-z0-9_.:-]+")


@dataclass(frozen=True)
class RunContext:
    job: str
    runner: str
    fencing_token: int | None
    trigger: str
    ttl_seconds: float


def error_reason(exc: BaseException) -> str:
    """Short, bounded label value: a named cause if the error has one, else its class."""
    reason = getattr(exc, "reason", None)
    if not isinstance(reason, str) or not reason:
        reason = type(exc).__name__
    return _REASON.sub("_", reason)[:60]


def error_message(exc: BaseException) -> str:
    return error_text(exc)


def _state(job: str) -> JobState:
    insert_if_absent(JobState, name=job, consecutive_failures=0)
    return db.session.get_one(JobState, job, populate_existing=True)


def heartbeat(ctx: RunContext, now: datetime | None = None) -> None:
    state = _state(ctx.job)
    state.last_heartbeat = now or utcnow()
    state.ttl_seconds = ctx.ttl_seconds
    state.runner = ctx.runner
    db.session.commit()


def started(ctx: RunContext) -> JobRun:
    now = utcnow()
    state = _state(ctx.job)
    state.last_heartbeat = state.last_started_at = now
    state.ttl_seconds = ctx.ttl_seconds
    state.runner = ctx.runner
    run = JobRun(
        job=ctx.job,
        started_at=now,
        outcome="running",
        runner=ctx.runner,
        fencing_token=ctx.fencing_token,
        trigger=ctx.trigger,
    )
    db.session.add(run)
    db.session.commit()
    return run


def _finish(ctx: RunContext, run_id: int, outcome: str, duration: float) -> JobState:
    now = utcnow()
    state = _state(ctx.job)
    state.last_heartbeat = state.last_finished_at = now
    state.last_duration_seconds = duration
    run = db.session.get(JobRun, run_id)
    if run is not None:
        run.finished_at, run.duration_seconds, run.outcome = now, duration, outcome
    return state


def succeeded(ctx: RunContext, run_id: int, duration: float) -> None:
    state = _finish(ctx, run_id, "success", duration)
    state.last_success_at = state.last_finished_at
    state.consecutive_failures = 0
    db.session.commit()


def failed(ctx: RunContext, run_id: int, duration: float, exc: BaseException) -> str:
    reason = error_reason(exc)
    state = _finish(ctx, run_id, "failure", duration)
    state.consecutive_failures = (state.consecutive_failures or 0) + 1
    state.last_error = error_message(exc)
    state.last_error_at = state.last_finished_at
    run = db.session.get(JobRun, run_id)
    if run is not None:
        run.error_reason = reason
    counters.increment("job_errors_total", {"job": ctx.job, "reason": reason})
    db.session.commit()
    return reason
