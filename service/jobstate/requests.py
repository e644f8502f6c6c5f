"""'Run this job now' requests: written by the admin API or CLI, served by the leader."""

from __future__ import annotations

import time

from sqlalchemy import select, update

from ..db import rows_changed
from ..errors import ApiError
from ..extensions import db
from ..timeutil import utcnow
from .models import JobRunRequest


def request_run(job: str) -> JobRunRequest:
    req = JobRunRequest(job=job, requested_at=utcnow())
    db.session.add(req)
    db.session.commit()
    return req


def request_known(job: str) -> JobRunRequest:
    """An operator's 'run it now' (admin API, console): unknown job names are a 404."""
    from .status import expected_jobs

    if job not in expected_jobs():
        raise ApiError(404, "unknown_job", f"No job named {job!r}.")
    return request_run(job)


def claim_pending(holder: str, limit: int = 10) -> list[JobRunRequest]:
    """Claim unclaimed requests; a conditional UPDATE makes each claim exclusive."""
    pending = db.session.scalars(
        select(JobRunRequest.id)
        .where(JobRunRequest.claimed_at.is_(None))
        .order_by(JobRunRequest.requested_at)
        .limit(limit)
    ).all()
    claimed = []
    for request_id in pending:
        taken = rows_changed(
            update(JobRunRequest)
            .where(JobRunRequest.id == request_id, JobRunRequest.claimed_at.is_(None))
            .values(claimed_at=utcnow(), claimed_by=holder)
        )
        if taken == 1:
            claimed.append(request_id)
    db.session.commit()
    rows = (db.session.get(JobRunRequest, request_id) for request_id in claimed)
    return [row for row in rows if row is not None]


def finish(request_id: int, outcome: str) -> None:
    db.session.execute(
        update(JobRunRequest)
        .where(JobRunRequest.id == request_id)
        .values(finished_at=utcnow(), outcome=outcome)
    )
    db.session.commit()


def wait_for(request_id: int, wait_seconds: float, poll_seconds: float = 0.5) -> str | None:
    """The request's outcome once the leader has run it; None if not within the wait."""
    deadline = time.monotonic() + wait_seconds
    while True:
        req = db.session.get(JobRunRequest, request_id, populate_existing=True)
        # Read before the commit: touching an expired attribute afterwards
        # would open a new transaction and hold it (on SQLite, the database's
        # write lock, which the leader needs) through the sleep.
        finished, outcome = (req.finished_at is not None, req.outcome) if req else (False, None)
        db.session.commit()
        if finished:
            return outcome
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll_seconds)
