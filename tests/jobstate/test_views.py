"""Web-tier views of job state: admin API, /readyz, /metrics, CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobs.leader import Leadership
from jobs.runner import JobRunner
from jobs.schedule import SCHEDULE, find
from service.extensions import db
from service.jobstate.models import JobRunRequest, JobState
from service.timeutil import utcnow
from tests.helpers import sample_value

ADMIN = "admin-token-for-tests-1234-0123456789ab"
PROD = {"APP_ENV": "production", "EMAIL_BACKEND": "smtp", "SMTP_URL": "smtp://127.0.0.1:2525"}


def _beat_all(app, age_seconds: float = 0.0) -> None:
    """Record a heartbeat for every scheduled job, `age_seconds` ago."""
    with app.app_context():
        when = utcnow() - timedelta(seconds=age_seconds)
        for spec in SCHEDULE:
            db.session.merge(
                JobState(
                    name=spec.id,
                    last_heartbeat=when,
                    last_success_at=when,
                    consecutive_failures=0,
                    ttl_seconds=spec.ttl(app.config["SETTINGS"]),
                )
            )
        db.session.commit()


@pytest.mark.parametrize(
    ("env", "token", "header", "status"),
    [
        ({}, None, None, 200),  # development without a token: open
        ({}, ADMIN, None, 401),
        ({}, ADMIN, "Bearer wrong", 401),
        ({}, ADMIN, f"Bearer {ADMIN}", 200),
        (PROD, ADMIN, None, 401),
        (PROD, ADMIN, "Bearer wrong", 401),
        (PROD, ADMIN, f"Basic {ADMIN}", 401),
        (PROD, ADMIN, f"Bearer {ADMIN}", 200),
        (PROD, None, f"Bearer {ADMIN}", 500),
    ],
)
def test_jobs_status_auth_matrix(make_app, env, token, header, status):
    overrides = {"APP_ENV": "development", **env}
    if token:
        overrides["ADMIN_TOKEN"] = token
    client = make_app(**overrides).test_client()
    response = client.get(
        "/v1/admin/jobs/status", headers={"Authorization": header} if header else {}
    )
    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if status == 500:
        assert response.get_json()["error"]["code"] == "server_misconfigured"


def test_jobs_status_reports_each_job_and_the_leader(app, client):
    runner = JobRunner(app, Leadership(lease_seconds=30))
    with app.app_context():
        runner.leadership.refresh()
    runner.run(find("jobs-runner"))
    body = client.get("/v1/admin/jobs/status").get_json()
    jobs = {j["job"]: j for j in body["jobs"]}
    assert set(jobs) == {spec.id for spec in SCHEDULE}
    beat = jobs["jobs-runner"]
    assert beat["up"] is True and beat["consecutive_failures"] == 0
    assert beat["last_heartbeat"].endswith("Z") and beat["last_success"].endswith("Z")
    assert 0 <= beat["heartbeat_age_seconds"] < beat["ttl_seconds"] == 60
    assert beat["last_error"] is None
    assert jobs["retention"]["last_heartbeat"] is None and jobs["retention"]["up"] is False
    import os

    assert body["leader"]["pid"] == os.getpid() and body["leader"]["since"].endswith("Z")


def test_run_now_is_recorded_for_the_leader(client, app):
    response = client.post("/v1/admin/jobs/retention/run")
    assert response.status_code == 202
    assert response.get_json()["job"] == "retention"
    assert client.post("/v1/admin/jobs/no-such-job/run").status_code == 404
    runner = JobRunner(app, Leadership(lease_seconds=30))
    with app.app_context():
        runner.leadership.refresh()
    runner.serve_requests()
    with app.app_context():
        req = db.session.query(JobRunRequest).one()
        assert req.outcome == "success" and req.finished_at is not None
        assert db.session.get(JobState, "retention").last_success_at is not None


def test_readyz_ok_when_fresh_and_degraded_when_stale(app, client):
    _beat_all(app)
    body = client.get("/readyz").get_json()
    assert body["status"] == "ok" and body["jobs"]["ok"] is True
    assert body["jobs"]["jobs"]["jobs-runner"]["ok"] is True
    _beat_all(app, age_seconds=61)
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded" and body["database"]["ok"] is True
    assert body["jobs"]["jobs"]["jobs-runner"]["ok"] is False


def test_readyz_degraded_when_only_one_job_is_stale(app, client):
    """Every job fresh but `email-dispatch` (TTL 60 s by default), last beaten
    61 s ago: not ready, and /readyz names that job alone."""
    _beat_all(app)
    with app.app_context():
        row = db.session.get(JobState, "email-dispatch")
        row.last_heartbeat = utcnow() - timedelta(seconds=61)
        db.session.commit()
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded" and body["jobs"]["ok"] is False
    states = {name: job["ok"] for name, job in body["jobs"]["jobs"].items()}
    assert states == {
        "jobs-runner": True,
        "email-dispatch": False,
        "email-dlq": True,
        "retention": True,
    }
    text = client.get("/metrics").get_data(as_text=True)
    assert sample_value(text, "job_runner_up", job="email-dispatch") == 0
    assert sample_value(text, "job_runner_up", job="email-dlq") == 1


def test_job_metric_families_come_from_the_database(app, client):
    _beat_all(app, age_seconds=61)
    text = client.get("/metrics").get_data(as_text=True)
    assert sample_value(text, "job_runner_up", job="jobs-runner") == 0
    assert sample_value(text, "job_heartbeat_ttl_seconds", job="jobs-runner") == 60
    heartbeat = sample_value(text, "job_last_heartbeat_timestamp", job="jobs-runner")
    assert abs(heartbeat - (utcnow().timestamp() - 61)) < 5
    assert sample_value(text, "job_last_success_timestamp", job="jobs-runner") == heartbeat
    assert "# TYPE job_errors_total counter" in text
    _beat_all(app)
    text = client.get("/metrics").get_data(as_text=True)
    assert sample_value(text, "job_runner_up", job="jobs-runner") == 1


def test_flask_jobs_run_asks_the_leader_and_points_to_the_worker_without_one(app):
    result = app.test_cli_runner().invoke(args=["jobs", "run", "retention"])
    assert result.exit_code == 1, result.output
    assert "python jobs_main.py run retention" in result.output
    with app.app_context():  # nothing was requested that no worker would serve
        assert db.session.query(JobRunRequest).count() == 0
    status = app.test_cli_runner().invoke(args=["jobs", "status"])
    assert '"job": "retention"' in status.output
    bad = app.test_cli_runner().invoke(args=["jobs", "run", "nope"])
    assert bad.exit_code != 0 and "unknown job" in bad.output


def test_retired_jobs_are_left_out_of_metrics(app, client):
    _beat_all(app)
    with app.app_context():
        db.session.add(
            JobState(
                name="old-renamed-job",
                last_heartbeat=utcnow() - timedelta(days=3),
                consecutive_failures=0,
            )
        )
        db.session.commit()
    text = client.get("/metrics").get_data(as_text=True)
    assert sample_value(text, "job_runner_up", job="old-renamed-job") is None
    assert sample_value(text, "job_runner_up", job="jobs-runner") == 1
    jobs = {j["job"]: j for j in client.get("/v1/admin/jobs/status").get_json()["jobs"]}
    assert jobs["old-renamed-job"]["scheduled"] is False
    assert client.get("/readyz").get_json()["status"] == "ok"
