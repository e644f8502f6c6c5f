"""`python jobs_main.py run NAME`: run one job once from a shell, as the worker would.

With no live leader this process takes the lease, runs the job through the
same wrapper as a scheduled run (heartbeat, history, counters; trigger
`cli`) and releases the lease. While a worker leads, it asks that leader
instead (a run request, as POST /v1/admin/jobs/NAME/run writes) and waits.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from service.jobstate import requests as run_requests
from service.jobstate.catalogue import job_ids, lease_timing
from service.jobstate.status import leader

from .leader import Leadership
from .runner import JobRunner
from .schedule import find

Echo = Callable[[str], None]


def _run_here(app: Flask, name: str) -> str:
    spec = find(name)
    assert spec is not None
    leadership = Leadership(lease_timing(app.config["SETTINGS"])[0])
    if not leadership.refresh():
        return "leader_busy"
    try:
        return JobRunner(app, leadership).run(spec, trigger="cli")
    finally:
        leadership.release()


def run_once(app: Flask, name: str, wait_seconds: float = 60.0, echo: Echo = print) -> int:
    """Run job NAME once; the exit status: 0 success, 1 failure, 2 unknown
    job, 3 the leader has not finished it within `wait_seconds`."""
    if find(name) is None:
        echo(f"unknown job {name!r}; known: {', '.join(job_ids())}")
        return 2
    with app.app_context():
        if leader() is None:
            outcome = _run_here(app, name)
            if outcome != "leader_busy":
                echo(f"{name}: {outcome}")
                return 0 if outcome == "success" else 1
        req_id = run_requests.request_run(name).id
        by_leader = run_requests.wait_for(req_id, wait_seconds)
    if by_leader is None:
        echo(f"{name}: requested (id {req_id}); the leader has not finished it yet")
        return 3
    echo(f"{name}: {by_leader} (run by the leader)")
    return 0 if by_leader == "success" else 1
