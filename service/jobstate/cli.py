"""`flask jobs status` and `flask jobs run NAME` for operators with a shell."""

from __future__ import annotations

import json
import time

import click
from flask import current_app
from flask.cli import AppGroup

from ..extensions import db
from . import requests as run_requests
from .models import JobRunRequest
from .status import expected_jobs, job_statuses, leader

jobs_cli = AppGroup("jobs", help="Inspect and run the worker's jobs.")


@jobs_cli.command("status")
def status_command() -> None:
    """Print each job's heartbeat, last success and failures (JSON)."""
    click.echo(json.dumps({"jobs": job_statuses(), "leader": leader()}, indent=2))


def _run_here(name: str) -> str:
    from jobs.leader import Leadership
    from jobs.runner import JobRunner, lease_timing
    from jobs.schedule import find

    leadership = Leadership(lease_timing(current_app.config["SETTINGS"])[0])
    if not leadership.refresh():
        return "leader_busy"
    try:
        return JobRunner(current_app._get_current_object(), leadership).run(  # type: ignore[attr-defined]
            find(name), trigger="cli"
        )
    finally:
        leadership.release()


@jobs_cli.command("run")
@click.argument("name")
@click.option(
    "--wait",
    "wait_seconds",
    default=60.0,
    show_default=True,
    help="How long to wait for a running worker's leader to do it.",
)
def run_command(name: str, wait_seconds: float) -> None:
    """Run job NAME once, through the same wrapper and lease as the worker.

    With no live leader, this process takes the lease and runs it; otherwise
    the leader is asked to (as POST /v1/admin/jobs/NAME/run does).
    """
    if name not in expected_jobs():
        raise click.BadParameter(f"unknown job {name!r}; known: {', '.join(expected_jobs())}")
    if leader() is None:
        outcome = _run_here(name)
        if outcome != "leader_busy":
            click.echo(f"{name}: {outcome}")
            raise SystemExit(0 if outcome == "success" else 1)
    req_id = run_requests.request_run(name).id
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        req = db.session.get(JobRunRequest, req_id, populate_existing=True)
        db.session.commit()
        if req is not None and req.finished_at is not None:
            click.echo(f"{name}: {req.outcome} (run by the leader)")
            raise SystemExit(0 if req.outcome == "success" else 1)
        time.sleep(0.5)
    click.echo(f"{name}: requested (id {req_id}); the leader has not finished it yet")
    raise SystemExit(3)
