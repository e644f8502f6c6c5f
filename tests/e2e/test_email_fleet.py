"""Email dispatch across real worker processes (Procfile `worker`) and a real
aiosmtpd server: a crash loop strands nothing but the messages in flight, and
the fleet-wide rate cap holds with three workers."""

from __future__ import annotations

import asyncio
import collections
import random
import signal
import time

import pytest
from sqlalchemy import func, select

from service.email.models import EmailAttempt, EmailMessage
from service.extensions import db
from service.jobstate import counters
from tests.email.helpers import queue
from tests.email.servers import RecordingHandler, smtp_server
from tests.helpers import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.single_backend]
TTL = 4.0  # JOB_HEARTBEAT_TTL_SECONDS the start_worker fixture sets


class SlowHandler(RecordingHandler):
    """Accepts each message after `delay` seconds; notes when each arrived."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.arrivals: list[float] = []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        reply = await super().handle_DATA(server, session, envelope)
        with self.lock:
            self.arrivals.append(time.monotonic())
        return reply

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


def status_counts(app) -> dict[str, int]:
    with app.app_context():
        found = dict(
            db.session.execute(
                select(EmailMessage.status, func.count()).group_by(EmailMessage.status)
            ).all()
        )
        db.session.remove()
    return found


def test_a_crash_loop_delays_only_the_messages_in_flight(start_worker, make_app):
    app = make_app()
    handler = SlowHandler(delay=0.05)
    kills, total = 10, 300
    rng = random.Random()
    with smtp_server(handler=handler) as (_, port):
        with app.app_context():
            queue(total)
        env = {
            "SMTP_URL": f"smtp://127.0.0.1:{port}?timeout=5",
            "EMAIL_DISPATCH_INTERVAL_SECONDS": "0.5",
            # Longer than TTL + 5 s: a design that strands more than the
            # message in flight (batch claims) fails the restart bound.
            "EMAIL_CLAIM_SECONDS": "10",
            # One send slot: one message in flight, so at most one duplicate
            # per kill (with N slots a crash may re-send up to N, one each).
            "EMAIL_CONCURRENCY": "1",
        }
        restarts = []
        for _ in range(kills):
            before = handler.count()
            started = time.monotonic()
            worker = start_worker(**env)
            wait_until(
                lambda before=before: handler.count() > before,
                TTL + 5,
                interval=0.02,
                message="a restarted worker sending again",
            )
            restarts.append(time.monotonic() - started)
            time.sleep(rng.uniform(0.05, 0.8))  # a random moment mid-stream
            worker.signal(signal.SIGKILL)
            worker.wait(10)
        assert handler.count() < total, "the queue drained before the last kill"
        start_worker(**{**env, "EMAIL_CONCURRENCY": "4"})
        wait_until(lambda: status_counts(app) == {"delivered": total}, 60, message="all sent")
        time.sleep(0.5)  # a late duplicate would arrive now
    received = collections.Counter(handler.message_ids())
    duplicates = sum(received.values()) - len(received)
    assert len(received) == total, "a message was lost"
    assert duplicates <= kills, f"{duplicates} duplicates after {kills} kills"
    assert max(restarts) < TTL + 5, restarts
    print(f"restarted workers sent again after {[round(r, 1) for r in restarts]} s")


def test_three_workers_hold_the_fleet_wide_rate_limit(start_worker, make_app):
    app = make_app()
    handler = SlowHandler(delay=0.0)
    limit, total = 20.0, 160
    with smtp_server(handler=handler) as (_, port):
        with app.app_context():
            queue(total)
        env = {
            "SMTP_URL": f"smtp://127.0.0.1:{port}?timeout=5",
            "EMAIL_DISPATCH_INTERVAL_SECONDS": "0.5",
            "EMAIL_RATE_LIMIT_PER_SECOND": str(limit),
        }
        for _ in range(3):
            start_worker(**env)
        wait_until(lambda: handler.count() == total, 60, message="all sent")
    arrivals = sorted(handler.arrivals)
    # The steady state: from the 10th message on (all workers are up by then).
    window = arrivals[10:]
    observed = (len(window) - 1) / (window[-1] - window[0])
    assert abs(observed - limit) <= 0.1 * limit, f"observed {observed:.1f}/s, limit {limit}/s"
    with app.app_context():
        senders = db.session.scalars(select(func.distinct(EmailAttempt.worker))).all()
        failed = counters.value(
            "email_notifications_total", {"template": "receipt", "status": "failed"}
        )
        db.session.remove()
    pids = {worker.split(":")[1] for worker in senders}
    assert len(pids) >= 2, f"one process sent everything: {pids}"
    assert failed == 0
