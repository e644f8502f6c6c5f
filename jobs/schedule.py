"""The schedule as data: stable ids, the function, the interval (redash style)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.config import Settings

from . import tasks

RETENTION_INTERVAL_SECONDS = 3600.0


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[], None]
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


SCHEDULE: tuple[JobSpec, ...] = (
    JobSpec("jobs-runner", tasks.runner_heartbeat, lambda s: s.job_heartbeat_interval_seconds),
    JobSpec(
        "email-dispatch",
        tasks.email_dispatch,
        lambda s: s.email_dispatch_interval_seconds,
        leader_only=False,
    ),
    JobSpec("email-dlq", tasks.email_dlq, lambda s: s.email_dlq_interval_seconds),
    JobSpec("retention", tasks.retention, lambda s: RETENTION_INTERVAL_SECONDS),
)


def job_ttls(settings: Settings) -> dict[str, float]:
    return {spec.id: spec.ttl(settings) for spec in SCHEDULE}


def find(job_id: str) -> JobSpec | None:
    return next((spec for spec in SCHEDULE if spec.id == job_id), None)
