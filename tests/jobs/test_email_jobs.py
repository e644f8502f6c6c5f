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
