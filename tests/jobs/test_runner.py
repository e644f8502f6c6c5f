"""The job wrapper's bookkeeping and the leader lease, against the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobs.leader import Leadership
from jobs.runner import JobRunner, lease_timing
from jobs.schedule import SCHEDULE, JobSpec, job_ttls
from service.extensions import db
from service.jobstate import counters
from service.jobstate.models import JobRun, JobState, Lease
from service.jobstate.status import LEADER_LEASE
from service.timeutil import utcnow


class Flaky:
    def __init__(self) -> None:
        self.fail_with: BaseException | None = None
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        if self.fail_with is not None:
            raise self.fail_with


@pytest.fixture
def flaky(monkeypatch):
    func = Flaky()
    spec = JobSpec("jobs-runner", func, lambda s: 1.0)
    return spec, func


def job_errors(reason: str) -> float:
    return counters.value("job_errors_total", {"job": "jobs-runner", "reason": reason})


def _runner(app) -> JobRunner:
    runner = JobRunner(app, Leadership(lease_seconds=30))
    with app.app_context():
        assert runner.leadership.refresh()
    return runner


def _state(app, job="jobs-runner") -> JobState:
    with app.app_context():
        state = db.session.get(JobState, job)
        db.session.expunge_all()
        return state


def test_success_records_heartbeat_success_and_duration(app, flaky):
    spec, func = flaky
    runner = _runner(app)
    assert runner.run(spec) == "success"
    state = _state(app)
    assert func.calls == 1
    assert state.last_heartbeat is not None and state.last_success_at is not None
    assert state.last_duration_seconds >= 0
    assert state.consecutive_failures == 0 and state.last_error is None
    assert state.ttl_seconds == app.config["SETTINGS"].job_heartbeat_ttl_seconds


def test_failures_count_up_by_reason_and_reset_on_success(app, flaky):
    spec, func = flaky
    runner = _runner(app)
    func.fail_with = ConnectionError("smtp down")
    assert runner.run(spec) == "failure"
    assert runner.run(spec) == "failure"
    func.fail_with = TimeoutError("slow")
    assert runner.run(spec) == "failure"
    state = _state(app)
    assert state.consecutive_failures == 3
    assert state.last_error == "TimeoutError: slow"
    assert state.last_success_at is None
    with app.app_context():
        assert job_errors("ConnectionError") == 2
        assert job_errors("TimeoutError") == 1
    func.fail_with = None
    assert runner.run(spec) == "success"
    state = _state(app)
    assert state.consecutive_failures == 0 and state.last_success_at is not None
    with app.app_context():  # counters never go backwards
        assert job_errors("ConnectionError") == 2


def test_named_cause_is_the_reason(app, flaky):
    class CircuitOpen(Exception):
        reason = "circuit_open"

    spec, func = flaky
    func.fail_with = CircuitOpen("email circuit open")
    _runner(app).run(spec)
    with app.app_context():
        assert job_errors("circuit_open") == 1


def test_last_error_holds_no_secrets(make_app, flaky):
    app = make_app(ADMIN_TOKEN="admin-token-very-secret-0123456789abcdef")
    spec, func = flaky
    func.fail_with = RuntimeError(
        "login failed for smtp://mailer:pa55word@mail:587 with "
        "admin-token-very-secret-0123456789abcdef"
    )
    _runner(app).run(spec)
    error = _state(app).last_error
    assert "pa55word" not in error and "admin-token-very-secret-0123456789abcdef" not in error
    assert error.startswith("RuntimeError: login failed")


def test_a_follower_does_not_run_jobs(app, flaky):
    spec, func = flaky
    leader = _runner(app)
    follower = JobRunner(app, Leadership(lease_seconds=30))
    with app.app_context():
        assert not follower.leadership.refresh()
    assert follower.run(spec) == "skipped"
    assert leader.run(spec) == "success"
    assert func.calls == 1
    with app.app_context():
        runs = db.session.query(JobRun).all()
        assert [(r.outcome, r.fencing_token) for r in runs] == [
            ("success", leader.leadership.token)
        ]


def test_lease_takeover_after_expiry_bumps_the_fencing_token(app):
    with app.app_context():
        first = Leadership(lease_seconds=30)
        second = Leadership(lease_seconds=30)
        assert first.refresh() and not second.refresh()
        token = first.token
        assert first.refresh() and first.token == token  # renewal keeps the token
        lease = db.session.get(Lease, LEADER_LEASE)
        lease.expires_at = utcnow() - timedelta(seconds=1)  # first stopped renewing
        db.session.commit()
        assert second.refresh() and second.token == token + 1
        assert not first.holds()
        assert not first.refresh() and first.token is None  # it notices and steps down
        second.release()
        assert first.refresh() and first.token == token + 2


def test_lease_timing_hands_over_within_the_ttl(app):
    settings = app.config["SETTINGS"]
    lease, refresh = lease_timing(settings)
    assert lease + refresh < settings.job_heartbeat_ttl_seconds


def test_schedule_is_data_with_stable_ids(app):
    ids = [spec.id for spec in SCHEDULE]
    assert len(ids) == len(set(ids))
    assert {"jobs-runner", "retention"} <= set(ids)
    ttls = job_ttls(app.config["SETTINGS"])
    assert ttls["jobs-runner"] == app.config["SETTINGS"].job_heartbeat_ttl_seconds
    for spec in SCHEDULE:  # every job runs at least once per TTL window
        assert spec.interval(app.config["SETTINGS"]) < ttls[spec.id]


def test_email_dispatch_runs_in_every_process_the_rest_only_on_the_leader(app):
    # Sending capacity grows with worker processes; retention and the
    # heartbeat must still run once per tick.
    assert {spec.id for spec in SCHEDULE if not spec.leader_only} == {"email-dispatch"}
    func = Flaky()
    spec = JobSpec("email-dispatch", func, lambda s: 1.0, leader_only=False)
    leader = _runner(app)
    follower = JobRunner(app, Leadership(lease_seconds=30))
    with app.app_context():
        assert not follower.leadership.refresh()
    assert follower.run(spec) == "success"
    assert leader.run(spec) == "success"
    assert func.calls == 2


def test_a_deposed_leader_resuming_after_a_takeover_runs_nothing(app, flaky):
    """A leader paused past its lease (a stopped VM, a long GC) wakes up still
    believing it leads: its next run is checked against the database and
    skipped, so only the new leader's token appears in the history."""
    spec, func = flaky
    deposed = _runner(app)
    old_token = deposed.leadership.token
    with app.app_context():
        lease = db.session.get(Lease, LEADER_LEASE)
        lease.expires_at = utcnow() - timedelta(seconds=1)  # it stopped renewing
        db.session.commit()
    usurper = JobRunner(app, Leadership(lease_seconds=30))
    with app.app_context():
        assert usurper.leadership.refresh()
    assert usurper.leadership.token == old_token + 1
    assert deposed.leadership.token == old_token  # in memory it still "leads"

    assert deposed.run(spec) == "skipped"
    assert deposed.run(spec, trigger="request") == "skipped"
    assert func.calls == 0
    assert usurper.run(spec) == "success"
    assert func.calls == 1
    with app.app_context():
        tokens = [r.fencing_token for r in db.session.query(JobRun).all()]
    assert tokens == [old_token + 1]
    deposed.refresh_lease()  # its next lease refresh tells it the truth
    assert deposed.leadership.token is None
