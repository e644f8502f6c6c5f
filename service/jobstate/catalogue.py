"""The job catalogue: every job's stable id, interval, heartbeat TTL and the
leader lease timing, as data.

It lives here, below both tiers, because both read it: the worker schedules
from it (`jobs/schedule.py` binds each id to its task function) and the web
tier judges heartbeats against it (`/readyz`, `/metrics`, the admin API)
without importing the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..config import Settings

RETENTION_INTERVAL_SECONDS = 3600.0
LEADER_LEASE = "scheduler"  # the lease row every worker competes for


@dataclass(frozen=True)
class JobDef:
    id: str
    interval: Callable[[Settings], float]
    # False: runs in every worker process, not only on the leader (sending
    # capacity grows with worker dynos; the outbox claims keep it once per message).
    leader_only: bool = True

    def ttl(self, settings: Settings) -> float:
        """Heartbeat TTL in force for this job.

        `jobs-runner` uses JOB_HEARTBEAT_TTL_SECONDS itself; a job that runs
        less often than that gets two intervals plus half the TTL, so a
        leader change between two runs does not flap it down.
        """
        base = settings.job_heartbeat_ttl_seconds
        if self.id == "jobs-runner":
            return base
        return max(base, 2 * self.interval(settings) + base / 2)


CATALOGUE: tuple[JobDef, ...] = (
    JobDef("jobs-runner", lambda s: s.job_heartbeat_interval_seconds),
    JobDef("email-dispatch", lambda s: s.email_dispatch_interval_seconds, leader_only=False),
    JobDef("email-dlq", lambda s: s.email_dlq_interval_seconds),
    JobDef("retention", lambda s: RETENTION_INTERVAL_SECONDS),
)


def job_ids() -> tuple[str, ...]:
    return tuple(job.id for job in CATALOGUE)


def job_ttls(settings: Settings) -> dict[str, float]:
    return {job.id: job.ttl(settings) for job in CATALOGUE}


def find(job_id: str) -> JobDef | None:
    return next((job for job in CATALOGUE if job.id == job_id), None)


def lease_timing(settings: Settings) -> tuple[float, float]:
    """(lease length, refresh interval): a dead leader is replaced within the TTL."""
    ttl = settings.job_heartbeat_ttl_seconds
    lease = ttl / 2
    return lease, max(min(ttl / 8, 5.0), 0.2)
