"""email-dispatch and email-dlq against a real SMTP server, in process."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select, update

from service.circuits import breaker
from service.email import dispatch, outbox, suppression
from service.email.backends import backend_for
from service.email.models import EmailMessage, SendGate
from service.extensions import db
from service.timeutil import as_utc, utcnow
from tests.email.helpers import (
    RECEIPT,
    attempt_rows,
    make_due,
    message,
    notifications,
    queue,
    statuses,
)
from tests.helpers import free_port


@pytest.fixture
def mail(make_app, smtp):
    """An app sending to the loopback SMTP server; yields the server's handler."""
    handler, port = smtp
    app = make_app(
        EMAIL_BACKEND="smtp",
        SMTP_URL=f"smtp://127.0.0.1:{port}?timeout=2",
        EMAIL_MAX_ATTEMPTS="3",
        EMAIL_CONCURRENCY="1",  # one send slot: outcomes in queue order
        EMAIL_RETRY_BASE_SECONDS="10",
        EMAIL_RETRY_MAX_SECONDS="60",
        CIRCUIT_FAILURE_THRESHOLD="3",
        CIRCUIT_RESET_SECONDS="30",
    )
    with app.app_context():
        yield handler
        db.session.rollback()


def open_long_ago() -> None:
    with db.engine.begin() as conn:
        conn.execute(
            update(breaker.Circuit)
            .where(breaker.Circuit.name == "email")
            .values(opened_at=utcnow() - timedelta(seconds=60))
        )


def test_delivers_queued_mail_once(mail):
    [mid] = queue()
    assert queue() == [mid]  # same idempotency key: nothing new
    assert dispatch.dispatch_queued() == {"delivered": 1}
    row = message(mid)
    assert (row.status, row.attempts, row.claimed_by) == ("delivered", 1, None)
    assert row.delivered_at is not None
    assert row.provider_message_id == mail.messages[0]["Message-ID"]
    assert mail.messages[0]["Subject"] == "Your receipt for invoice I-1"
    assert dispatch.dispatch_queued() == {}
    assert len(mail.messages) == 1
    assert notifications()["delivered"] == 1 and attempt_rows() == 1


def test_retryable_failure_goes_pending_with_backoff_then_dead(mail):
    mail.rcpt_reply = "451 4.3.0 try later"
    [mid] = queue()
    before = utcnow()
    assert dispatch.dispatch_queued() == {"failed": 1}
    row = message(mid)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "451" in row.last_error
    assert before <= as_utc(row.next_attempt_at) <= utcnow() + timedelta(seconds=10)
    assert dispatch.dispatch_queued() == {}  # not queued any more
    make_due(mid)
    assert dispatch.retry_pending() == {"failed": 1}
    make_due(mid)
    assert dispatch.retry_pending() == {"dead": 1}
    row = message(mid)
    assert (row.status, row.attempts, row.next_attempt_at) == ("dead", 3, None)
    make_due()
    assert not {"failed", "dead"} & set(dispatch.retry_pending())  # dead is final
    assert notifications() == {"delivered": 0, "skipped": 0, "failed": 2, "dead": 1}
    assert attempt_rows() == 3


def test_pending_is_not_retried_before_its_time(mail):
    mail.rcpt_reply = "451 4.3.0 try later"
    [mid] = queue()
    dispatch.dispatch_queued()
    db.session.execute(
        update(EmailMessage).values(next_attempt_at=utcnow() + timedelta(seconds=30))
    )
    db.session.commit()
    assert dispatch.retry_pending() == {}
    assert message(mid).attempts == 1


def test_permanent_rejection_is_dead_at_once_and_suppresses_the_address(mail):
    mail.rcpt_reply = "550 5.1.1 no such user"
    [first] = queue(recipient="Gone@Example.com")
    assert dispatch.dispatch_queued() == {"dead": 1}
    assert message(first).status == "dead"
    assert suppression.is_suppressed("gone@example.com")
    db.session.commit()  # SQLite: end the read before the breaker's own transaction
    assert breaker.get("email").consecutive_failures == 0  # the server works
    mail.rcpt_reply = None
    [second] = queue(recipient="gone@example.com", prefix="later")
    assert dispatch.dispatch_queued() == {"skipped": 1}
    assert message(second).status == "skipped"
    assert mail.messages == []


def test_unknown_template_is_dead_without_touching_the_server(mail):
    [mid] = queue(template="newsletter")
    assert dispatch.dispatch_queued() == {"dead": 1}
    assert "render_failed" in message(mid).last_error
    assert mail.messages == []


def test_a_message_the_mail_library_refuses_is_dead_and_blocks_nothing(mail):
    # enqueue refuses such an address now (skipped, invalid_recipient); a row
    # written before that check still must not block the queue.
    [bad] = queue(prefix="bad")
    db.session.execute(
        update(EmailMessage)
        .where(EmailMessage.id == bad)
        .values(recipient="ada@example.com\nBcc: everyone@example.com")
    )
    db.session.commit()
    [good] = queue(prefix="good")
    assert dispatch.dispatch_queued() == {"dead": 1, "delivered": 1}
    assert "unexpected: ValueError" in message(bad).last_error
    assert message(good).status == "delivered"
    assert [m["To"] for m in mail.messages] == ["ada@example.com"]
    assert breaker.get("email").consecutive_failures == 0


def test_console_backend_counts_skipped(make_app):
    with make_app(EMAIL_BACKEND="console").app_context():
        [mid] = queue()
        assert dispatch.dispatch_queued() == {"skipped": 1}
        assert message(mid).status == "skipped"
        assert notifications()["skipped"] == 1


def test_sendgrid_backend_delivers(make_app, sendgrid):
    fake, base = sendgrid
    app = make_app(EMAIL_BACKEND="sendgrid", SENDGRID_API_KEY="SG.k", SENDGRID_API_BASE=base)
    with app.app_context():
        [mid] = queue()
        assert dispatch.dispatch_queued() == {"delivered": 1}
        assert message(mid).provider_message_id == "sg-1"
        assert fake.requests[0]["json"]["subject"] == "Your receipt for invoice I-1"


def test_open_breaker_spends_no_attempts(mail):
    mail.rcpt_reply = "451 4.3.2 service not available"
    ids = queue(5)
    tally = dispatch.dispatch_queued()
    assert tally == {"failed": 3, "circuit_open": 1}
    assert breaker.get("email").state == "open"
    rows = [message(i) for i in ids]
    assert [r.status for r in rows] == ["pending"] * 3 + ["queued"] * 2
    assert [r.attempts for r in rows] == [1, 1, 1, 0, 0]
    assert all(r.claimed_by is None for r in rows)
    make_due()
    assert dispatch.dispatch_queued() == {"circuit_open": 1}
    assert dispatch.retry_pending() == {"circuit_open": 1}
    assert attempt_rows() == 3
    assert notifications()["failed"] == 3


def test_after_a_provider_failure_no_run_trusts_a_clean_claim(mail):
    """A claim reads the breaker when it is made; failures seen since by a
    slot of this process, in any run of either job, may be opening it. An
    email-dlq slot's clean claim must not send once email-dispatch opened it."""
    mail.rcpt_reply = "451 4.3.2 service not available"
    queue(3)
    dispatch.dispatch_queued()  # three provider failures open the breaker
    assert breaker.get("email").state == "open"
    mail.rcpt_reply = None
    settings = current_app.config["SETTINGS"]
    claimed_before = outbox.Claimed(
        10**6, "evt_x:receipt", "receipt", "ada@example.com", dict(RECEIPT), "pending", 1
    )
    assert claimed_before.circuit_clean
    dlq_run = dispatch._Run("other-run", "pending", settings, time.monotonic() + 5)
    with backend_for(settings) as backend:
        assert dispatch._send(claimed_before, backend, dlq_run) is None
    assert mail.messages == []


def test_half_open_trial_closes_and_wakes_the_queue(mail):
    mail.rcpt_reply = "451 4.3.2 service not available"
    queue(4)
    dispatch.dispatch_queued()  # 3 failed (pending, backoff), 1 given back
    mail.rcpt_reply = None
    open_long_ago()
    tally = dispatch.dispatch_queued()
    assert tally["delivered"] == 1 and tally["woken"] == 3
    assert breaker.get("email").state == "closed"
    assert dispatch.retry_pending() == {"delivered": 3}  # due at once, not at backoff
    assert set(statuses().values()) == {"delivered"}
    assert len(mail.messages) == 4


def test_failed_trial_sends_one_message_only(mail):
    mail.rcpt_reply = "451 4.3.2 service not available"
    queue(6)
    dispatch.dispatch_queued()
    open_long_ago()
    assert dispatch.dispatch_queued() == {"failed": 1, "circuit_open": 1}
    assert breaker.get("email").state == "open"
    assert attempt_rows() == 4


def test_a_dead_workers_claim_expires_and_the_message_goes_out(mail):
    [mid] = queue()
    assert [c.id for c in outbox.claim("queued", 10, "crashed-worker")] == [mid]
    assert dispatch.dispatch_queued() == {}  # claimed by someone else: hands off
    claimed_until = as_utc(message(mid).claimed_until)
    assert claimed_until <= utcnow() + timedelta(seconds=outbox.claim_seconds())
    # The defaults: claim + one dispatch tick, so a crashed send is resent within a minute.
    assert outbox.claim_seconds() + 5 < 60
    db.session.execute(update(EmailMessage).values(claimed_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert dispatch.dispatch_queued() == {"delivered": 1}
    assert len(mail.messages) == 1


def test_a_message_is_claimed_right_before_its_send(mail, monkeypatch):
    """No claim renewal is needed: each message is claimed just before it is
    sent, so at send time it holds a fresh claim and nothing else is held."""
    from service.email.backends.smtp import SmtpBackend

    ids = queue(3)
    seen: list[tuple] = []
    real_send = SmtpBackend.send

    def send_and_look(self, email):
        with db.engine.connect() as conn:
            rows = conn.execute(
                select(EmailMessage.id, EmailMessage.claimed_by, EmailMessage.claimed_until).where(
                    EmailMessage.claimed_by.is_not(None)
                )
            ).all()
        seen.append((utcnow(), rows))
        return real_send(self, email)

    monkeypatch.setattr(SmtpBackend, "send", send_and_look)
    assert dispatch.dispatch_queued() == {"delivered": 3}
    for (at, rows), mid in zip(seen, ids, strict=True):
        assert [row.id for row in rows] == [mid]  # only the message in flight
        assert as_utc(rows[0].claimed_until) > at + timedelta(seconds=outbox.claim_seconds() - 5)


def test_an_outcome_is_recorded_once(mail):
    queue()
    [claimed] = outbox.claim("queued", 10, "w1")
    assert outbox.record(claimed, outbox.Outcome("delivered"), "w1", "smtp")
    assert not outbox.record(claimed, outbox.Outcome("delivered"), "w2", "smtp")
    assert notifications()["delivered"] == 1 and attempt_rows() == 1


def test_counts_add_up_to_the_attempts(mail):
    mail.rcpt_reply = "451 4.3.0 later"
    queue(2)
    dispatch.dispatch_queued()
    mail.rcpt_reply = None
    queue(2, prefix="ok")
    dispatch.dispatch_queued()
    make_due()
    dispatch.retry_pending()
    total_attempts = sum(message(i).attempts for i in statuses())
    assert sum(notifications().values()) == total_attempts == attempt_rows() == 6


def test_unreachable_server_fails_fast_and_opens(make_app):
    app = make_app(
        EMAIL_BACKEND="smtp",
        SMTP_URL=f"smtp://127.0.0.1:{free_port()}?timeout=2",
        CIRCUIT_FAILURE_THRESHOLD="2",
        EMAIL_CONCURRENCY="1",
    )
    with app.app_context():
        queue(3)
        assert dispatch.dispatch_queued() == {"failed": 2, "circuit_open": 1}
        assert "ConnectionRefusedError" in breaker.get("email").last_error


@pytest.mark.parametrize("attempts", [1, 2, 5, 12, 40])
def test_full_jitter_backoff_stays_within_its_cap(attempts):
    ceiling = min(3600, 30 * 2 ** (attempts - 1))
    delays = [outbox.retry_delay(attempts, 30, 3600) for _ in range(200)]
    assert all(0 <= d <= ceiling for d in delays)
    assert max(delays) > ceiling / 2  # spread over the range, not pinned


def test_enqueue_reports_whether_the_message_is_new(app):
    # On PostgreSQL an ORM insert's rowcount is not reported; this once made
    # enqueue() say False for every new message there.
    from service.email.outbox import enqueue

    with app.app_context():
        assert enqueue("evt_new:receipt", "receipt", "a@example.com", {}) is True
        assert enqueue("evt_new:receipt", "receipt", "a@example.com", {}) is False
        db.session.commit()


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_smtp_421_pauses_every_sender_and_spends_no_attempt(mail, stage):
    setattr(mail, f"{stage}_reply", "421 4.7.0 too many messages, slow down")
    ids = queue(3)
    assert dispatch.dispatch_queued() == {"throttled": 1}
    rows = [message(i) for i in ids]
    assert [(r.status, r.attempts, r.claimed_by) for r in rows] == [("queued", 0, None)] * 3
    assert attempt_rows() == 0 and notifications()["failed"] == 0
    assert breaker.get("email").state == "closed"  # throttling is not an outage
    gate = db.session.get(SendGate, "smtp", populate_existing=True)
    assert gate.paused_until > time.time() + 5  # the fleet-wide pause is in the database
    db.session.commit()
    setattr(mail, f"{stage}_reply", None)
    assert dispatch.dispatch_queued() == {}  # still paused: nothing claimed
    db.session.execute(update(SendGate).values(paused_until=0.0))
    db.session.commit()
    assert dispatch.dispatch_queued() == {"delivered": 3}
