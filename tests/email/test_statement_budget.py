"""Statements and commits per message: the hot path keeps to its floor.

A crash may re-send only the message in flight, so each outcome must be
committed before the next send: one commit per message is the floor, and
dispatch keeps to it (the next claim rides in the outcome's transaction).
On PostgreSQL the outcome and the next claim are one statement.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import event

from service.email import dispatch
from service.extensions import db
from tests.email.helpers import queue

MESSAGES = 30


def test_one_commit_per_message_and_few_statements(make_app, smtp):
    handler, port = smtp
    app = make_app(EMAIL_BACKEND="smtp", SMTP_URL=f"smtp://127.0.0.1:{port}", EMAIL_CONCURRENCY="1")
    with app.app_context():
        queue(MESSAGES)
        seen: Counter = Counter()

        def on_statement(conn, cursor, statement, *args):
            kind = statement.lstrip().split(None, 1)[0].upper()
            seen["statements" if kind not in ("BEGIN", "PRAGMA") else "other"] += 1

        def on_commit(conn):
            seen["commits"] += 1

        event.listen(db.engine, "before_cursor_execute", on_statement)
        event.listen(db.engine, "commit", on_commit)
        try:
            assert dispatch.dispatch_queued() == {"delivered": MESSAGES}
        finally:
            event.remove(db.engine, "before_cursor_execute", on_statement)
            event.remove(db.engine, "commit", on_commit)
        per_message = 1 if db.engine.dialect.name == "postgresql" else 4
    assert len(handler.messages) == MESSAGES
    # A few more for the run itself: the breaker check, the gate row, the
    # first claim, the pause read (at most once per second).
    assert seen["commits"] <= MESSAGES + 6, seen
    assert seen["statements"] <= per_message * MESSAGES + 10, seen
