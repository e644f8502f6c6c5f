"""A handler that raises, and a database that is gone or hangs."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from service.db import bounded_calls_in_flight
from service.webhooks import metrics as webhook_metrics
from tests.conftest import BACKEND
from tests.helpers import free_port

from . import stripe_events as se
from .helpers import deliver, delta, outbox_rows, row_counts, rows, scrape, stored_event

SQLITE_TRIGGER = (
    "CREATE TRIGGER outbox_offline BEFORE INSERT ON email_message "
    "BEGIN SELECT RAISE(ABORT, 'outbox offline'); END",
)
PG_TRIGGER = (
    "CREATE FUNCTION outbox_offline() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'outbox offline'; END $$",
    "CREATE TRIGGER outbox_offline BEFORE INSERT ON email_message "
    "FOR EACH ROW EXECUTE FUNCTION outbox_offline()",
)


def _sqlite_path(database_url: str) -> str:
    return database_url.removeprefix("sqlite:///")


def _run(database_url: str, *statements: str) -> None:
    if BACKEND == "sqlite":
        with sqlite3.connect(_sqlite_path(database_url)) as conn:
            for statement in statements:
                conn.execute(statement)
        return
    with psycopg.connect(database_url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@contextmanager
def outbox_offline(database_url: str) -> Iterator[None]:
    """A real failure inside the handler's transaction: the outbox insert raises."""
    _run(database_url, *(SQLITE_TRIGGER if BACKEND == "sqlite" else PG_TRIGGER))
    try:
        yield
    finally:
        drops = ["DROP TRIGGER IF EXISTS outbox_offline"]
        if BACKEND != "sqlite":
            drops = [
                "DROP TRIGGER IF EXISTS outbox_offline ON email_message",
                "DROP FUNCTION IF EXISTS outbox_offline()",
            ]
        _run(database_url, *drops)


def test_handler_raised_stores_failed_and_a_redelivery_processes_it(wh, migrated):
    evt = se.event("invoice.paid", se.invoice("cus_Fail1"))
    before = scrape(wh)
    with outbox_offline(migrated):
        response = deliver(wh, evt)
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "processing_error"
    assert delta(before, scrape(wh)) == {"result:failed": 1, "type:processing_error": 1}
    stored = stored_event(migrated, evt["id"])
    assert (stored["status"], stored["attempts"]) == ("failed", 1)
    assert "outbox offline" in stored["error"]
    assert "INSERT" not in stored["error"]  # no SQL, no parameters
    # Nothing half-applied: the invoice change rolled back with the email.
    assert rows(migrated, "billing_invoice") == [] and outbox_rows(migrated, evt["id"]) == []

    detail = wh.get(f"/v1/admin/webhook-events/{evt['id']}").get_json()["event"]
    assert detail["status"] == "failed" and "outbox offline" in detail["error"]

    # Stripe's retry after the fault is gone: processed, not a duplicate.
    before = scrape(wh)
    response = deliver(wh, evt, timestamp=int(time.time()))
    assert response.get_json()["result"] == "processed"
    assert delta(before, scrape(wh)) == {"result:processed": 1}
    stored = stored_event(migrated, evt["id"])
    assert (stored["status"], stored["attempts"], stored["error"]) == ("processed", 2, None)
    assert len(outbox_rows(migrated, evt["id"])) == 1
    assert len(rows(migrated, "billing_invoice")) == 1


def test_a_failed_event_keeps_failing_while_the_fault_lasts(wh, migrated):
    evt = se.event("charge.refunded", se.charge("cus_Fail2"))
    with outbox_offline(migrated):
        assert deliver(wh, evt).status_code == 500
        assert deliver(wh, evt).status_code == 500
    stored = stored_event(migrated, evt["id"])
    assert (stored["status"], stored["attempts"]) == ("failed", 2)


def test_database_unreachable_answers_503_quickly(make_app, webhook_env):
    url = f"postgresql://root@127.0.0.1:{free_port()}/nowhere"
    client = make_app(**{**webhook_env, "DATABASE_URL": url}).test_client()
    before = scrape(client)
    webhook_metrics.COUNTERS._take()  # other tests' unflushed counts (their database is gone)
    started = time.monotonic()
    response = deliver(client, se.event("invoice.paid", se.invoice("cus_Down")))
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "database_unavailable"
    assert "nowhere" not in body and "127.0.0.1" not in body
    # The counters live in the database: left out of a scrape that cannot read
    # it, and kept in the process's buffer until a flush succeeds.
    assert delta(before, scrape(client)) == {}
    pending = webhook_metrics.COUNTERS._take()  # taken: no other test's rows get them
    assert pending[("webhook_events_total", (("result", "failed"),))] == 1
    assert pending[("webhook_errors_total", (("type", "processing_error"),))] == 1


@contextmanager
def database_hung(database_url: str) -> Iterator[None]:
    """Another session holds the lock every webhook statement needs."""
    if BACKEND == "sqlite":
        conn = sqlite3.connect(_sqlite_path(database_url), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
    else:
        conn = psycopg.connect(database_url)
        conn.execute("LOCK TABLE webhook_event IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        conn.rollback()
        conn.close()


def _bounded_calls_finished() -> bool:
    return bounded_calls_in_flight() == 0


def test_database_hung_answers_503_within_5s_and_stores_nothing(wh, migrated):
    evt = se.event("invoice.paid", se.invoice("cus_Hung"))
    before = scrape(wh)
    with database_hung(migrated):
        started = time.monotonic()
        response = deliver(wh, evt)
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.get_data(as_text=True)
    assert 3.5 < elapsed < 5  # it did wait on the lock, and gave up in time
    deadline = time.monotonic() + 10
    while not _bounded_calls_finished() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _bounded_calls_finished(), "the abandoned attempt never returned"
    # The abandoned attempt got the lock after the 503, and did not commit.
    assert set(row_counts(migrated).values()) == {0}
    assert delta(before, scrape(wh)) == {"result:failed": 1, "type:processing_error": 1}
    # Stripe retries: applied once.
    assert deliver(wh, evt).get_json()["result"] == "processed"
    assert len(outbox_rows(migrated, evt["id"])) == 1


def test_reprocess_after_a_fault_applies_once(wh, migrated):
    evt = se.event("invoice.paid", se.invoice("cus_Fail3"))
    with outbox_offline(migrated):
        assert deliver(wh, evt).status_code == 500
    first = wh.post(f"/v1/admin/webhook-events/{evt['id']}/reprocess")
    assert first.status_code == 200
    assert first.get_json()["result"] == "processed"
    assert first.get_json()["event"]["status"] == "processed"
    second = wh.post(f"/v1/admin/webhook-events/{evt['id']}/reprocess").get_json()
    assert second["result"] == "unchanged"
    assert [m["template"] for m in outbox_rows(migrated, evt["id"])] == ["receipt"]
