"""'Run this job now' requests: written by the admin API or CLI, served by the leader."""

from __future__ import annotations

from sqlalchemy import select, update

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
        result = db.session.execute(
            update(JobRunRequest)
            .where(JobRunRequest.id == request_id, JobRunRequest.claimed_at.is_(None))
            .values(claimed_at=utcnow(), claimed_by=holder)
        )
        if result.rowcount == 1:
            claimed.append(request_id)
    db.session.commit()
    return [db.session.get(JobRunRequest, request_id) for request_id in claimed]


def finish(request_id: int, outcome: str) -> None:
    db.session.execute(
        update(JobRunRequest)
        .where(JobRunRequest.id == request_id)
        .values(finished_at=utcnow(), outcome=outcome)
    )
    db.session.commit()
