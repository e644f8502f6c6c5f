"""The schedule runs email-dispatch and email-dlq at their configured intervals."""

from __future__ import annotations

from jobs import tasks
from jobs.schedule import SCHEDULE, find
from service.config import load_settings
from tests.email.helpers import queue, statuses


def test_email_jobs_are_scheduled_at_their_intervals():
    settings = load_settings(
        {"EMAIL_DISPATCH_INTERVAL_SECONDS": "2", "EMAIL_DLQ_INTERVAL_SECONDS": "7"}
    )
    ids = [spec.id for spec in SCHEDULE]
    assert len(ids) == len(set(ids))
    assert {"jobs-runner", "email-dispatch", "email-dlq", "retention"} <= set(ids)
    assert find("email-dispatch").interval(settings) == 2
    assert find("email-dlq").interval(settings) == 7
    assert find("email-dispatch").func is tasks.email_dispatch
    assert find("email-dlq").func is tasks.email_dlq


def test_job_functions_call_the_domain_logic(app):
    with app.app_context():  # console backend: every message is skipped
        queue(2)
        tasks.email_dispatch()
        tasks.email_dlq()
        assert set(statuses().values()) == {"skipped"}


def test_operators_can_rerun_email_dlq(client):
    response = client.post("/v1/admin/jobs/email-dlq/run")
    assert response.status_code == 202
    assert response.get_json()["job"] == "email-dlq"


def test_a_rerun_of_email_dlq_retries_pending_letters_now(make_app):
    """Runbook: fix the credentials, then rerun `email-dlq` to drain the queue."""
    from datetime import timedelta

    from sqlalchemy import update

    from jobs.leader import Leadership
    from jobs.runner import JobRunner
    from service.email.models import EmailMessage
    from service.extensions import db
    from service.timeutil import utcnow
    from tests.email.servers import RecordingHandler, smtp_server

    handler = RecordingHandler()
    with smtp_server(handler=handler) as (_, port):
        app = make_app(EMAIL_BACKEND="smtp", SMTP_URL=f"smtp://127.0.0.1:{port}")
        runner = JobRunner(app, Leadership(lease_seconds=30))
        with app.app_context():
            assert runner.leadership.refresh()
            [mid] = queue(1)
            backoff = utcnow() + timedelta(hours=1)
            db.session.execute(
                update(EmailMessage).values(status="pending", attempts=1, next_attempt_at=backoff)
            )
            db.session.commit()
        assert runner.run(find("email-dlq")) == "success"  # a scheduled tick waits
        assert handler.messages == []
        assert runner.run(find("email-dlq"), trigger="request") == "success"
        assert len(handler.messages) == 1
        with app.app_context():
            assert statuses() == {mid: "delivered"}
