"""The worker's schedule: each catalogued job id bound to its task function.

Ids, intervals, TTLs and lease timing are data in
`service/jobstate/catalogue.py`, where the web tier reads them too; this
module only says which function runs for each id (a test checks that both
lists name the same jobs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.config import Settings
from service.jobstate.catalogue import CATALOGUE, JobDef, job_ttls

from . import tasks

__all__ = ["SCHEDULE", "TASKS", "JobSpec", "find", "job_ttls"]

TASKS: dict[str, Callable[[], None]] = {
    "jobs-runner": tasks.runner_heartbeat,
    "email-dispatch": tasks.email_dispatch,
    "email-dlq": tasks.email_dlq,
    "retention": tasks.retention,
}


@dataclass(frozen=True)
class JobSpec:
    """A catalogued job and the function that does its work."""

    id: str
    func: Callable[[], None]
    interval: Callable[[Settings], float]
    leader_only: bool = True  # see service/jobstate/catalogue.py

    def ttl(self, settings: Settings) -> float:
        return JobDef(self.id, self.interval, self.leader_only).ttl(settings)


SCHEDULE: tuple[JobSpec, ...] = tuple(
    JobSpec(job.id, TASKS[job.id], job.interval, job.leader_only)
    for job in CATALOGUE
    if job.id in TASKS
)


def find(job_id: str) -> JobSpec | None:
    return next((spec for spec in SCHEDULE if spec.id == job_id), None)
