"""Stale notices are not sent: skipped with reason `expired` at send time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from service.billing.models import Invoice
from service.email import dispatch
from service.email.models import EmailMessage
from service.email.outbox import enqueue
from service.extensions import db
from service.jobstate import counters
from service.timeutil import isoformat, utcnow
from tests.email.helpers import message


@pytest.fixture
def mail(make_app, smtp):
    handler, port = smtp
    app = make_app(EMAIL_BACKEND="smtp", SMTP_URL=f"smtp://127.0.0.1:{port}?timeout=2")
    with app.app_context():
        yield handler


def _queue(key: str, template: str, **context) -> int:
    enqueue(key, template, "ada@example.com", {"customer_name": "Ada", **context})
    db.session.commit()
    found = db.session.query(EmailMessage.id).filter_by(idempotency_key=key).scalar()
    db.session.commit()
    return found


def expired_count() -> float:
    value = counters.value("email_skipped_total", {"reason": "expired"})
    db.session.commit()
    return value


def test_trial_ending_after_the_trial_ended_is_not_sent(mail):
    past = _queue("e1:trial_ending", "trial_ending", trial_end=isoformat(utcnow()))
    future = _queue(
        "e2:trial_ending", "trial_ending", trial_end=isoformat(utcnow() + timedelta(days=3))
    )
    assert dispatch.dispatch_queued() == {"skipped": 1, "delivered": 1}
    row = message(past)
    assert row.status == "skipped" and row.last_error.startswith("expired: the trial has ended")
    assert message(future).status == "delivered"
    assert len(mail.messages) == 1 and expired_count() == 1
    skipped = counters.value(
        "email_notifications_total", {"template": "trial_ending", "status": "skipped"}
    )
    assert skipped == 1


def test_payment_failed_after_the_invoice_was_paid_or_voided_is_not_sent(mail):
    for invoice_id, status in (("in_paid", "paid"), ("in_void", "void"), ("in_open", "open")):
        db.session.add(
            Invoice(
                id=invoice_id,
                customer_id="cus_1",
                status=status,
                currency="usd",
                amount_due=100,
                amount_paid=0,
                event_created=1,
                status_rank=1,
            )
        )
        _queue(f"{invoice_id}:payment_failed", "payment_failed", invoice_id=invoice_id)
    assert dispatch.dispatch_queued() == {"skipped": 2, "delivered": 1}
    assert len(mail.messages) == 1 and expired_count() == 2


@pytest.mark.parametrize(("valid_days", "sent"), [(None, False), ("10", True)])
def test_a_receipt_older_than_its_window_is_not_sent(make_app, smtp, valid_days, sent):
    handler, port = smtp
    app = make_app(
        EMAIL_BACKEND="smtp",
        SMTP_URL=f"smtp://127.0.0.1:{port}?timeout=2",
        EMAIL_RECEIPT_VALID_DAYS=valid_days,
    )
    with app.app_context():
        mid = _queue("old:receipt", "receipt", amount_paid=100, currency="usd")
        db.session.execute(update(EmailMessage).values(created_at=utcnow() - timedelta(days=8)))
        db.session.commit()
        dispatch.dispatch_queued()
        assert message(mid).status == ("delivered" if sent else "skipped")
        assert len(handler.messages) == (1 if sent else 0)


def test_preview_renders_every_template_with_sample_data(make_app):
    app = make_app(ADMIN_TOKEN="email-admin-token-0123456789abcdef0123")
    client = app.test_client()
    auth = {"Authorization": "Bearer email-admin-token-0123456789abcdef0123"}
    body = client.get("/v1/admin/email-templates/receipt/preview", headers=auth).get_json()
    assert body["subject"] == "Your receipt for invoice INV-0042"
    assert "$49.00" in body["text"] and "https://invoice.stripe.com/" in body["html"]
    assert client.get("/v1/admin/email-templates/nope/preview", headers=auth).status_code == 404
    assert client.get("/v1/admin/email-templates/receipt/preview").status_code == 401
    cli = app.test_cli_runner()
    result = cli.invoke(args=["email", "preview", "payment_failed", "--part", "text"])
    assert result.exit_code == 0 and "Update your payment details: https://" in result.output
