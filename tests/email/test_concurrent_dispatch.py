"""Several worker processes dispatching one queue at once: nobody sends twice.

On PostgreSQL the claims race through FOR UPDATE SKIP LOCKED; on SQLite
through the write lock every transaction takes. The test runs on both.
"""

from __future__ import annotations

import collections
import multiprocessing

from sqlalchemy import func, select

from service.email.models import EmailAttempt, EmailMessage
from service.extensions import db
from tests.conftest import BASE_CONFIG
from tests.email.helpers import queue
from tests.email.workers import dispatch_until_empty

MESSAGES = 240
WORKERS = 3


def test_concurrent_workers_deliver_every_message_exactly_once(app, migrated, smtp):
    handler, port = smtp
    with app.app_context():
        queue(MESSAGES)
    config = {
        **BASE_CONFIG,
        "DATABASE_URL": migrated,
        "EMAIL_BACKEND": "smtp",
        "SMTP_URL": f"smtp://127.0.0.1:{port}?timeout=5",
        "LOG_LEVEL": "WARNING",
    }
    spawn = multiprocessing.get_context("spawn")
    barrier, out = spawn.Barrier(WORKERS), spawn.Queue()
    workers = [
        spawn.Process(target=dispatch_until_empty, args=(config, 5, barrier, out))
        for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    try:
        per_worker = [out.get(timeout=90) for _ in workers]
    finally:
        for worker in workers:
            worker.join(30)
            if worker.is_alive():
                worker.kill()
    assert [w.exitcode for w in workers] == [0] * WORKERS

    received = collections.Counter(handler.message_ids())
    assert len(received) == MESSAGES
    assert max(received.values()) == 1, [mid for mid, n in received.items() if n > 1]
    assert sum(per_worker) == MESSAGES
    assert sum(1 for n in per_worker if n > 0) >= 2, f"no concurrency happened: {per_worker}"
    with app.app_context():
        statuses = dict(
            db.session.execute(
                select(EmailMessage.status, func.count()).group_by(EmailMessage.status)
            ).all()
        )
        attempts = db.session.scalar(select(func.count()).select_from(EmailAttempt))
    assert statuses == {"delivered": MESSAGES}
    assert attempts == MESSAGES
