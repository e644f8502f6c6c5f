"""`flask jobs status` and `flask jobs run NAME` for operators with a shell.

The web tier never runs a job itself: `flask jobs run` asks the worker's
leader (as POST /v1/admin/jobs/NAME/run does) and waits for its answer. To
run a job where no worker is running, use the worker's own entry point:
`python jobs_main.py run NAME`.
"""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from . import requests as run_requests
from .status import expected_jobs, job_statuses, leader

jobs_cli = AppGroup("jobs", help="Inspect the worker's jobs and ask its leader to run one.")


@jobs_cli.command("status")
def status_command() -> None:
    """Print each job's heartbeat, last success and failures (JSON)."""
    click.echo(json.dumps({"jobs": job_statuses(), "leader": leader()}, indent=2))


@jobs_cli.command("run")
@click.argument("name")
@click.option(
    "--wait",
    "wait_seconds",
    default=60.0,
    show_default=True,
    help="How long to wait for the worker's leader to do it.",
)
def run_command(name: str, wait_seconds: float) -> None:
    """Ask the running worker's leader to run job NAME once, and wait for it.

    Exit 0 on success, 1 on failure or when no worker leads, 3 when the
    leader has not finished within --wait.
    """
    if name not in expected_jobs():
        raise click.BadParameter(f"unknown job {name!r}; known: {', '.join(expected_jobs())}")
    if leader() is None:
        click.echo(
            f"{name}: no worker holds the leader lease; run it here with "
            f"`python jobs_main.py run {name}`"
        )
        raise SystemExit(1)
    req_id = run_requests.request_run(name).id
    outcome = run_requests.wait_for(req_id, wait_seconds)
    if outcome is None:
        click.echo(f"{name}: requested (id {req_id}); the leader has not finished it yet")
        raise SystemExit(3)
    click.echo(f"{name}: {outcome} (run by the leader)")
    raise SystemExit(0 if outcome == "success" else 1)
