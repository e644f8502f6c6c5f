"""The database-backed breaker: transitions, the one-trial rule, isolation."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text, update

from service.circuits import breaker
from service.circuits.models import CLOSED, HALF_OPEN, OPEN, Circuit
from service.extensions import db
from service.timeutil import as_utc, utcnow
from tests.conftest import BACKEND


@pytest.fixture
def app(make_app):
    return make_app(CIRCUIT_FAILURE_THRESHOLD="3", CIRCUIT_RESET_SECONDS="30")


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.rollback()


def opened_long_ago(name: str = "email", seconds: float = 60) -> None:
    """Open the breaker as if CIRCUIT_RESET_SECONDS had already passed."""
    breaker.get(name)
    with db.engine.begin() as conn:
        conn.execute(
            update(Circuit)
            .where(Circuit.name == name)
            .values(state=OPEN, opened_at=utcnow() - timedelta(seconds=seconds))
        )


def test_closed_until_the_threshold_of_consecutive_failures(ctx):
    assert breaker.allow("email")
    assert breaker.record_failure("email", "boom 1") == CLOSED
    assert breaker.record_failure("email", "boom 2") == CLOSED
    assert breaker.allow("email")
    assert breaker.record_failure("email", "boom 3") == OPEN
    assert not breaker.allow("email")
    with pytest.raises(breaker.CircuitOpenError) as info:
        breaker.check("email")
    assert info.value.reason == "circuit_open" and info.value.circuit == "email"
    view = breaker.get("email")
    assert (view.state, view.consecutive_failures, view.last_error) == (OPEN, 3, "boom 3")


def test_a_success_resets_the_count(ctx):
    breaker.record_failure("email")
    breaker.record_failure("email")
    assert breaker.record_success("email") is False  # was closed: closed nothing
    breaker.record_failure("email")
    breaker.record_failure("email")
    assert breaker.get("email").state == CLOSED


def test_half_open_after_the_reset_time_then_closed_on_success(ctx):
    opened_long_ago()
    assert breaker.would_allow("email")
    assert breaker.allow("email")  # the trial
    assert breaker.get("email").state == HALF_OPEN
    assert not breaker.would_allow("email") and not breaker.allow("email")
    assert breaker.record_success("email") is True
    view = breaker.get("email")
    assert (view.state, view.consecutive_failures, view.opened_at) == (CLOSED, 0, None)


def test_a_failed_trial_opens_again_for_a_full_period(ctx):
    opened_long_ago()
    assert breaker.allow("email")
    before = utcnow()
    assert breaker.record_failure("email", "still down") == OPEN
    view = breaker.get("email")
    assert view.state == OPEN and as_utc(view.opened_at) >= before
    assert not breaker.would_allow("email") and not breaker.allow("email")


def test_a_late_failure_while_open_does_not_push_the_trial_back(ctx):
    opened_long_ago()
    opened_at = breaker.get("email").opened_at
    assert breaker.record_failure("email", "late") == OPEN
    assert breaker.get("email").opened_at == opened_at
    assert breaker.allow("email")


def test_a_trial_that_never_reports_back_is_retried_after_the_reset_time(ctx):
    opened_long_ago()
    assert breaker.allow("email")
    assert not breaker.allow("email")
    with db.engine.begin() as conn:  # the trial's process died a minute ago
        conn.execute(update(Circuit).values(trial_started_at=utcnow() - timedelta(seconds=60)))
    assert breaker.allow("email")
    assert not breaker.allow("email")


def test_reset_forces_closed(ctx):
    opened_long_ago()
    view = breaker.reset("email")
    assert (view.state, view.consecutive_failures) == (CLOSED, 0)
    assert breaker.allow("email")


def test_unknown_circuits_do_not_exist(ctx):
    with pytest.raises(breaker.UnknownCircuitError):
        breaker.allow("emial")
    with pytest.raises(breaker.UnknownCircuitError):
        breaker.reset("nope")
    assert [c.name for c in breaker.all_circuits()] == ["email", "stripe"]


def test_circuits_are_independent(ctx):
    for _ in range(3):
        breaker.record_failure("stripe", "502")
    assert not breaker.allow("stripe")
    assert breaker.allow("email")


def test_errors_are_redacted_and_bounded(make_app):
    app = make_app(STRIPE_API_KEY="sk_live_abcdef123456")
    with app.app_context():
        breaker.record_failure("stripe", "auth failed for sk_live_abcdef123456 " + "x" * 1000)
        error = breaker.get("stripe").last_error
    assert "sk_live_abcdef123456" not in error and len(error) <= 300


def test_one_trial_at_a_time_across_sessions(make_app):
    """Eight processes' worth of sessions race for the half-open trial."""
    apps = [make_app(CIRCUIT_RESET_SECONDS="30") for _ in range(8)]
    for round_ in range(3):
        with apps[0].app_context():
            opened_long_ago()
        barrier = threading.Barrier(len(apps))
        results: list[bool] = []
        errors: list[BaseException] = []

        def race(app, barrier=barrier, results=results, errors=errors) -> None:
            try:
                with app.app_context():
                    barrier.wait(10)
                    results.append(breaker.allow("email"))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=race, args=(app,)) for app in apps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, errors
        assert sorted(results) == [False] * 7 + [True], f"round {round_}: {results}"


def test_breaker_state_survives_the_callers_rollback(ctx):
    from service.jobstate.models import JobRunRequest

    db.session.add(JobRunRequest(job="caller-work", requested_at=utcnow()))  # pending, unflushed
    if BACKEND == "postgresql":
        # PostgreSQL also allows the caller's transaction to be open already;
        # SQLite's BEGIN IMMEDIATE would make the breaker wait on it (see breaker.py).
        db.session.execute(text("SELECT 1"))
    for _ in range(3):
        breaker.record_failure("stripe", "timeout")
    db.session.rollback()
    assert breaker.get("stripe").state == OPEN
    assert db.session.query(JobRunRequest).count() == 0  # the caller's work is gone
