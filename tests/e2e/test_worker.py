"""The `worker` Procfile line as real processes, observed through the web tier."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time

import pytest
import requests
from sqlalchemy import select

from service.extensions import db
from service.jobstate.catalogue import LEADER_LEASE, lease_timing
from service.jobstate.models import JobRun, JobRunRequest, Lease
from tests.e2e.conftest import ADMIN_TOKEN, METRICS_TOKEN, json_lines
from tests.helpers import sample_value, wait_until

pytestmark = pytest.mark.e2e
TTL = 4.0


def _ready(base: str) -> dict:
    response = requests.get(f"{base}/readyz", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def _status(base: str) -> dict:
    response = requests.get(
        f"{base}/v1/admin/jobs/status",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _runner_up(base: str) -> float | None:
    text = requests.get(f"{base}/metrics", params={"token": METRICS_TOKEN}, timeout=5).text
    return sample_value(text, "job_runner_up", job="jobs-runner")


def _lease(app) -> Lease | None:
    with app.app_context():
        lease = db.session.get(Lease, LEADER_LEASE)
        db.session.expunge_all()
        db.session.remove()
    return lease


def test_worker_heartbeats_sigterm_staleness_and_recovery(start_web, start_worker, make_app):
    app = make_app()
    _, base = start_web(workers=2)
    assert _ready(base)["status"] == "degraded"  # no worker yet
    worker = start_worker()
    wait_until(lambda: _ready(base)["status"] == "ok", 20, message="readyz ok")
    assert _runner_up(base) == 1
    held = wait_until(lambda: (ls := _lease(app)) and ls.holder and ls, 10, message="lease")

    worker.signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0  # the run in flight is ~instant; 20 s is slack
    # Released, not merely expired: release() clears the holder, expiry never
    # does, and the row is read before the lease (TTL / 2) could have run out.
    released = _lease(app)
    assert released is not None and released.holder is None
    assert released.token == held.token
    records = json_lines(worker.output())  # production: every line one JSON object
    assert records[-1]["message"] == "worker stopped"
    runs = [r for r in records if r.get("job") == "jobs-runner" and r.get("outcome")]
    assert runs and all({"duration_ms", "trigger", "fencing_token"} <= set(r) for r in runs)
    assert any(r["message"] == "worker starting" and "commit" in r for r in records)

    body = wait_until(
        lambda: (b := _ready(base))["status"] == "degraded" and b, TTL + 5, message="degraded"
    )
    assert body["database"]["ok"] is True and body["jobs"]["ok"] is False
    assert body["jobs"]["jobs"]["jobs-runner"]["ok"] is False
    assert _runner_up(base) == 0
    assert _status(base)["leader"] is None

    start_worker()
    wait_until(lambda: _ready(base)["status"] == "ok", 20, message="recovered")
    assert _runner_up(base) == 1


def _runs_since(app, job: str, since) -> list[JobRun]:
    with app.app_context():
        runs = db.session.scalars(
            select(JobRun).where(JobRun.job == job, JobRun.started_at >= since)
        ).all()
        db.session.expunge_all()
        return runs


def test_two_workers_run_each_tick_once_and_hand_over_on_sigkill(start_web, start_worker, make_app):
    app = make_app(JOB_HEARTBEAT_TTL_SECONDS=str(TTL))  # the workers' settings
    _, base = start_web(workers=1)
    first, second = start_worker(), start_worker()
    wait_until(lambda: _ready(base)["status"] == "ok", 20, message="readyz ok")
    leader = wait_until(lambda: _status(base)["leader"], 10, message="a leader")
    assert leader["pid"] in (first.pid, second.pid)

    from service.timeutil import utcnow

    window_start = utcnow()
    time.sleep(4.0)
    runs = sorted(_runs_since(app, "jobs-runner", window_start), key=lambda r: r.started_at)
    interval = TTL / 4
    # One run per tick in total, not one per worker: at most one more than the
    # ticks in the window, and no two runs of one tick (a second worker's run
    # would start within milliseconds of the first).
    assert 1 <= len(runs) <= 4.0 / interval + 1, len(runs)
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in itertools.pairwise(runs)]
    assert all(gap > interval / 2 for gap in gaps), gaps
    assert len({r.fencing_token for r in runs}) == 1

    victim, survivor = (first, second) if leader["pid"] == first.pid else (second, first)
    os.kill(victim.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    new_leader = wait_until(
        lambda: (ld := _status(base)["leader"]) and ld["pid"] == survivor.pid and ld,
        2 * TTL + 2,
        message="handover",
    )
    handover = time.monotonic() - killed_at
    # Designed bound: the lease (TTL / 2) plus one refresh interval, which is
    # under the TTL (tests/jobs/test_runner.py); here 2x that for a loaded machine.
    lease, refresh = lease_timing(app.config["SETTINGS"])
    assert handover < 2 * (lease + refresh), handover
    assert new_leader["fencing_token"] > leader["fencing_token"]
    wait_until(lambda: _ready(base)["status"] == "ok", TTL, message="still ready")

    def tokens() -> set[int]:
        with app.app_context():
            return set(
                db.session.scalars(
                    select(JobRun.fencing_token).where(JobRun.job == "jobs-runner").distinct()
                )
            )

    # The new leader runs the job under its own, higher token.
    wait_until(lambda: new_leader["fencing_token"] in tokens(), TTL, message="new leader's run")
    assert tokens() == {leader["fencing_token"], new_leader["fencing_token"]}


def test_sigterm_during_start_up_exits_zero(start_worker):
    worker = start_worker()
    wait_until(
        lambda: "worker starting" in worker.output(), 20, interval=0.01, message="start line"
    )
    worker.signal(signal.SIGTERM)
    try:
        code = worker.wait(timeout=10)
    except subprocess.TimeoutExpired:
        code = None
    assert code == 0, worker.output()
    assert json_lines(worker.output())[-1]["message"] == "worker stopped"


def test_run_now_over_http_and_from_a_shell_is_done_by_a_real_worker(
    start_web, start_worker, make_app
):
    """POST /v1/admin/jobs/<name>/run and `flask jobs run` write a request;
    the worker's leader runs it (trigger `request`) and records the outcome."""
    app = make_app()
    _, base = start_web(workers=1)
    start_worker()
    wait_until(lambda: _status(base)["leader"], 20, message="a leader")

    response = requests.post(
        f"{base}/v1/admin/jobs/retention/run",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=5,
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["job"], body["status"]) == ("retention", "requested")
    assert body["status_url"] == "/v1/admin/jobs/status"

    def finished() -> JobRunRequest | None:
        with app.app_context():
            req = db.session.get(JobRunRequest, body["request_id"])
            db.session.expunge_all()
            db.session.remove()
        return req if req is not None and req.finished_at is not None else None

    req = wait_until(finished, 20, message="the leader ran the request")
    assert req.outcome == "success" and req.claimed_by
    requested = [
        r for r in _runs_since(app, "retention", req.requested_at) if r.trigger == "request"
    ]
    assert [r.outcome for r in requested] == ["success"]

    result = app.test_cli_runner().invoke(args=["jobs", "run", "email-dlq", "--wait", "20"])
    assert result.exit_code == 0, result.output
    assert "email-dlq: success (run by the leader)" in result.output
