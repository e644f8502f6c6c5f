"""The catalogue (service/) and the schedule (jobs/) name the same jobs, and
the web tier reads the catalogue without loading the worker's code."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from jobs.cli import run_once
from jobs.leader import Leadership
from jobs.schedule import SCHEDULE, TASKS
from service.extensions import db
from service.jobstate.catalogue import CATALOGUE, job_ttls
from service.jobstate.models import JobRun, JobRunRequest
from tests.helpers import ROOT, process_env


def test_catalogue_and_schedule_list_the_same_jobs_in_the_same_order(app):
    assert [job.id for job in CATALOGUE] == list(TASKS) == [spec.id for spec in SCHEDULE]
    settings = app.config["SETTINGS"]
    for job, spec in zip(CATALOGUE, SCHEDULE, strict=True):
        assert spec.interval(settings) == job.interval(settings)
        assert spec.ttl(settings) == job.ttl(settings) == job_ttls(settings)[job.id]


def test_the_web_tier_never_loads_the_worker(app, migrated):
    """After serving /readyz, /metrics, the jobs admin API and `flask jobs
    status`, no module of `jobs` is loaded in the web process."""
    script = textwrap.dedent(
        f"""
        import sys
        from service import create_app
        app = create_app({{"APP_ENV": "test", "DATABASE_URL": {migrated!r}}})
        client = app.test_client()
        for path in ("/readyz", "/metrics", "/v1/admin/jobs/status"):
            assert client.get(path).status_code == 200, path
        assert client.post("/v1/admin/jobs/retention/run").status_code == 202
        result = app.test_cli_runner().invoke(args=["jobs", "status"])
        assert result.exit_code == 0, result.output
        loaded = sorted(m for m in sys.modules if m == "jobs" or m.startswith("jobs."))
        print("LOADED", loaded)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout, done.stdout


def test_worker_entry_point_runs_a_job_here_when_no_worker_leads(app):
    output: list[str] = []
    assert run_once(app, "retention", echo=output.append) == 0
    assert output == ["retention: success"]
    with app.app_context():
        run = db.session.query(JobRun).one()
        assert (run.job, run.trigger, run.outcome) == ("retention", "cli", "success")
    output.clear()
    assert run_once(app, "nope", echo=output.append) == 2
    assert "unknown job 'nope'" in output[0]


def test_worker_entry_point_asks_a_live_leader_instead(app):
    with app.app_context():
        other = Leadership(30.0)
        assert other.refresh()  # a worker elsewhere leads
    output: list[str] = []
    assert run_once(app, "retention", wait_seconds=0.2, echo=output.append) == 3
    assert "requested" in output[0]
    with app.app_context():
        assert db.session.query(JobRun).count() == 0  # not run here
        assert db.session.query(JobRunRequest).one().job == "retention"
        other.release()


def test_jobs_main_run_from_a_shell(app, migrated):
    done = subprocess.run(
        [sys.executable, "jobs_main.py", "run", "jobs-runner"],
        cwd=ROOT,
        env=process_env(APP_ENV="test", DATABASE_URL=migrated),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "jobs-runner: success" in done.stdout
