"""The runbook's email section against real processes and a real SMTP server.

SMTP down -> attempts fail, messages go pending, the `email` breaker opens
(circuit_state 1 on a real scrape), no attempt is spent while it is open,
and every message ends dead. SMTP back -> a replay delivers, a bulk replay
drains the rest. A worker killed mid-send loses nothing.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import signal
import time
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from service.email.models import EmailAttempt, EmailMessage
from service.extensions import db
from service.timeutil import as_utc
from tests.e2e.conftest import ADMIN_TOKEN, METRICS_TOKEN
from tests.email.helpers import queue
from tests.email.servers import RecordingHandler, smtp_server
from tests.helpers import free_port, promtool_check, sample_value, wait_until

pytestmark = pytest.mark.e2e
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
RESET_SECONDS = 2.0
FAST = {
    "EMAIL_DISPATCH_INTERVAL_SECONDS": "0.3",
    "EMAIL_DLQ_INTERVAL_SECONDS": "0.3",
    "EMAIL_RETRY_BASE_SECONDS": "0.2",
    "EMAIL_RETRY_MAX_SECONDS": "0.5",
    "EMAIL_MAX_ATTEMPTS": "2",
    "CIRCUIT_FAILURE_THRESHOLD": "3",
    "CIRCUIT_RESET_SECONDS": str(RESET_SECONDS),
}


def scrape(base: str) -> str:
    response = requests.get(f"{base}/metrics", params={"token": METRICS_TOKEN}, timeout=10)
    assert response.status_code == 200
    return response.text


def counts(base: str) -> dict[str, int]:
    response = requests.get(f"{base}/v1/admin/export-dead-letter", headers=ADMIN, timeout=10)
    return response.json()["counts"]


def email_circuit(base: str) -> dict:
    circuits = requests.get(f"{base}/v1/admin/circuits", headers=ADMIN, timeout=10).json()
    return next(c for c in circuits["circuits"] if c["name"] == "email")


def rows(app) -> list[EmailMessage]:
    with app.app_context():
        found = list(db.session.scalars(select(EmailMessage).order_by(EmailMessage.id)))
        db.session.expunge_all()
        db.session.remove()
    return found


def attempts(app) -> list[EmailAttempt]:
    with app.app_context():
        found = list(db.session.scalars(select(EmailAttempt)))
        db.session.expunge_all()
        db.session.remove()
    return found


def expected_message_ids(app) -> dict[str, int]:
    """README: a message's Message-ID is `<first 32 hex digits of the SHA-256 of
    its idempotency key @ the sender's domain>`, the same on every attempt."""
    return {
        f"<{hashlib.sha256(r.idempotency_key.encode()).hexdigest()[:32]}@example.com>": r.id
        for r in rows(app)
    }


def test_dlq_lifecycle_with_smtp_down_then_back(start_web, start_worker, make_app):
    smtp_port = free_port()  # nothing listens yet: SMTP is down
    env = {**FAST, "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}?timeout=2"}
    _, base = start_web(workers=2, **env)
    app = make_app()
    with app.app_context():
        ids = queue(4)
    start_worker(**env)

    # SMTP down: failures, pending letters, and the breaker opens for everyone.
    opened_at: set[str] = set()

    def circuit_open_on_scrape() -> bool:
        circuit = email_circuit(base)
        if circuit["state"] == "open":
            opened_at.add(circuit["opened_at"])
        return sample_value(scrape(base), "circuit_state", circuit="email") == 1

    wait_until(circuit_open_on_scrape, 30, interval=0.05, message="circuit_state email 1")
    text = scrape(base)
    assert sample_value(text, "email_notifications_total", template="receipt", status="failed")
    assert sample_value(text, "email_dlq_messages", status="pending") >= 1

    def all_dead() -> bool:
        circuit = email_circuit(base)
        if circuit["state"] == "open":
            opened_at.add(circuit["opened_at"])
        return counts(base) == {"pending": 0, "dead": 4}

    wait_until(all_dead, 60, interval=0.1, message="every message dead")
    history = attempts(app)
    assert len(history) == 4 * 2  # EMAIL_MAX_ATTEMPTS each, not one more
    for opened in opened_at:  # nothing was attempted while the breaker was open
        start = datetime.fromisoformat(opened.replace("Z", "+00:00"))
        quiet_until = start + timedelta(seconds=RESET_SECONDS - 0.05)
        spent = [a for a in history if start < as_utc(a.started_at) < quiet_until]
        assert spent == [], f"attempts while open since {opened}: {spent}"
    text = scrape(base)
    failed = sample_value(text, "email_notifications_total", template="receipt", status="failed")
    dead = sample_value(text, "email_notifications_total", template="receipt", status="dead")
    assert (failed, dead) == (4, 4)
    assert sample_value(text, "email_dlq_messages", status="dead") == 4

    # SMTP back: replay one, then drain the rest in bulk.
    handler = RecordingHandler()
    with smtp_server(port=smtp_port, handler=handler):
        replay = requests.post(
            f"{base}/v1/admin/export-dead-letter/{ids[0]}/replay", headers=ADMIN, timeout=10
        )
        assert replay.status_code == 202
        wait_until(lambda: len(handler.messages) == 1, 30, message="replayed message delivered")
        # The worker records the outcome right after the send: wait for the row.
        wait_until(lambda: rows(app)[0].status == "delivered", 10, message="delivery recorded")
        again = requests.post(
            f"{base}/v1/admin/export-dead-letter/{ids[0]}/replay", headers=ADMIN, timeout=10
        )
        assert again.status_code == 409 and again.json()["error"]["code"] == "already_delivered"
        bulk = requests.post(
            f"{base}/v1/admin/export-dead-letter/replay",
            json={"status": "dead"},
            headers=ADMIN,
            timeout=10,
        )
        assert bulk.status_code == 202 and bulk.json()["replayed"] == 3
        wait_until(
            lambda: {r.status for r in rows(app)} == {"delivered"}, 30, message="queue drained"
        )
        time.sleep(1)  # a duplicate would arrive now, if there were one

    received = collections.Counter(handler.message_ids())
    assert set(received) == set(expected_message_ids(app))
    assert set(received.values()) == {1}, "a message was delivered twice"
    text = scrape(base)
    assert sample_value(text, "circuit_state", circuit="email") == 0
    assert sample_value(text, "circuit_state", circuit="stripe") == 0
    assert sample_value(text, "email_dlq_messages", status="pending") == 0
    assert sample_value(text, "email_dlq_messages", status="dead") == 0
    delivered = sample_value(
        text, "email_notifications_total", template="receipt", status="delivered"
    )
    assert delivered == 4
    check = promtool_check(text)
    assert check.returncode == 0, check.stdout + check.stderr


class HangingHandler(RecordingHandler):
    """Takes the message and never answers DATA: the send is in flight for good."""

    def __init__(self) -> None:
        super().__init__()
        self.data_started = 0

    async def handle_DATA(self, server, session, envelope):
        self.data_started += 1
        await asyncio.sleep(3600)


def test_a_message_in_flight_on_a_killed_worker_goes_out_within_a_minute(start_worker, make_app):
    hanging = HangingHandler()
    healthy = RecordingHandler()
    app = make_app()
    with (
        smtp_server(handler=hanging) as (_, hang_port),
        smtp_server(handler=healthy) as (_, ok_port),
    ):
        with app.app_context():
            [mid] = queue(1)
        # A short claim keeps the test quick; the 40 s default is checked in
        # tests/email/test_dispatch.py against the 60 s bound.
        doomed = start_worker(
            SMTP_URL=f"smtp://127.0.0.1:{hang_port}?timeout=120", EMAIL_CLAIM_SECONDS="6"
        )
        wait_until(lambda: hanging.data_started == 1, 30, message="send in flight")
        assert rows(app)[0].claimed_by is not None
        doomed.signal(signal.SIGKILL)
        killed_at = time.monotonic()
        doomed.wait(10)

        start_worker(SMTP_URL=f"smtp://127.0.0.1:{ok_port}?timeout=5", EMAIL_CLAIM_SECONDS="6")
        wait_until(lambda: len(healthy.messages) == 1, 65, message="message re-sent")
        elapsed = time.monotonic() - killed_at
        time.sleep(1)
    assert elapsed < 6 + 5 + 10, f"re-sent {elapsed:.0f}s after the crash (claim 6 s)"
    assert len(healthy.messages) == 1 and hanging.messages == []
    [row] = rows(app)
    assert (row.id, row.status, row.attempts) == (mid, "delivered", 1)
