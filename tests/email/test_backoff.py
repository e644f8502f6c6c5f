"""Dead-letter retries back off exponentially and stop growing at the cap,
observed through real dispatch against a loopback SMTP server that defers."""

from __future__ import annotations

import random

from service.email import dispatch
from service.extensions import db
from service.timeutil import utcnow
from tests.email.helpers import make_due, message, queue

BASE, CAP = 10.0, 60.0


def test_backoff_doubles_per_attempt_and_is_capped(make_app, smtp, monkeypatch):
    handler, port = smtp
    handler.rcpt_reply = "451 4.3.0 try again later"  # every attempt fails, retryably
    app = make_app(
        EMAIL_BACKEND="smtp",
        SMTP_URL=f"smtp://127.0.0.1:{port}?timeout=5",
        EMAIL_MAX_ATTEMPTS="7",
        EMAIL_RETRY_BASE_SECONDS=str(BASE),
        EMAIL_RETRY_MAX_SECONDS=str(CAP),
        CIRCUIT_FAILURE_THRESHOLD="100",  # the breaker stays out of this
    )
    # Full jitter picks uniform(0, bound); taking the top of the range makes
    # the bound itself visible in next_attempt_at.
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    delays = []
    with app.app_context():
        [mid] = queue()
        for attempt in range(1, 7):
            run = dispatch.dispatch_queued() if attempt == 1 else dispatch.retry_pending()
            assert run == {"failed": 1}, (attempt, run)
            row = message(mid)
            assert (row.status, row.attempts) == ("pending", attempt)
            delays.append((row.next_attempt_at - utcnow()).total_seconds())
            make_due(mid)
        assert dispatch.retry_pending() == {"dead": 1}  # the 7th and last attempt
        db.session.rollback()
    expected = [10, 20, 40, 60, 60, 60]  # BASE * 2^(n-1), capped at CAP
    for got, want in zip(delays, expected, strict=True):
        assert want - 5 < got <= want, (delays, expected)
