"""Stripe deliveries through real Gunicorn workers (the Procfile `web` line)."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.conftest import METRICS_TOKEN, json_lines
from tests.email.servers import RecordingHandler, smtp_server
from tests.helpers import wait_until
from tests.webhooks import stripe_events as se
from tests.webhooks.helpers import outbox_rows, stored_event, webhook_counters

pytestmark = pytest.mark.e2e
COPIES = 20


def _counters(base: str) -> dict[str, float]:
    response = requests.get(f"{base}/metrics", params={"token": METRICS_TOKEN}, timeout=10)
    assert response.status_code == 200
    return webhook_counters(response.text)


def _chunked_oversized(base: str) -> int:
    def chunks():
        for _ in range(5):
            yield b" " * (64 * 1024)
        yield b"{}"

    response = requests.post(
        f"{base}/v1/webhooks/stripe",
        data=chunks(),
        headers={"Stripe-Signature": "t=1,v1=00", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.json()["error"]["code"] == "payload_too_large"
    return response.status_code


def test_concurrent_copies_of_one_event_apply_once(start_web, start_worker, migrated):
    proc, base = start_web(workers=3, STRIPE_WEBHOOK_SECRET=se.SECRET)
    evt = se.event("invoice.paid", se.invoice("cus_Concurrent"))
    payload = se.body(evt)
    header = se.sign(payload)
    start = threading.Barrier(COPIES)

    def send(_: int) -> tuple[int, str]:
        start.wait()
        response = requests.post(
            f"{base}/v1/webhooks/stripe",
            data=payload,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
            timeout=30,
        )
        return response.status_code, response.json().get("result", "")

    with ThreadPoolExecutor(COPIES) as pool:
        answers = list(pool.map(send, range(COPIES)))

    assert sorted(answers) == [(200, "duplicate")] * (COPIES - 1) + [(200, "processed")]
    assert len(outbox_rows(migrated, evt["id"])) == 1
    # ...and one email at a real SMTP server, sent by a real worker.
    smtp = RecordingHandler()
    with smtp_server(handler=smtp) as (_, smtp_port):
        start_worker(SMTP_URL=f"smtp://127.0.0.1:{smtp_port}", EMAIL_DISPATCH_INTERVAL_SECONDS="1")
        wait_until(lambda: smtp.messages, 30, message="the receipt at the SMTP server")
        time.sleep(2.5)  # two more dispatch ticks: nothing else may arrive
    assert len(smtp.messages) == 1
    assert outbox_rows(migrated, evt["id"])[0]["status"] == "delivered"
    assert stored_event(migrated, evt["id"])["status"] == "processed"
    # Each worker flushes its counts to the database about once a second.
    wait_until(
        lambda: (
            (
                (c := _counters(base))["result:processed"],
                c["result:duplicate"],
            )
            == (1, COPIES - 1)
        ),
        10,
        message="processed 1, duplicate COPIES-1",
    )

    # Same server (one Gunicorn start is seconds): a chunked body has no
    # Content-Length to refuse up front, so the limit must hold while reading.
    assert _chunked_oversized(base) == 413
    wait_until(lambda: _counters(base)["result:rejected"] == 1, 10, message="rejected == 1")

    proc.stop()
    output = proc.output()
    assert se.SECRET not in output
    assert header.split("v1=")[1] not in output  # no signature in any log line
    records = json_lines(output)
    assert any(r.get("logger") == "service.webhooks.views" for r in records)  # the 413
    # One line per delivery: the access-log line carries the event's outcome.
    mentions = [r for r in records if evt["id"] in json.dumps(r)]
    assert all(r["logger"] == "gunicorn.access" for r in mentions), mentions
    outcomes = sorted((r["event_id"], r["event_type"], r["result"]) for r in mentions)
    assert outcomes == [(evt["id"], "invoice.paid", "duplicate")] * (COPIES - 1) + [
        (evt["id"], "invoice.paid", "processed")
    ]
    assert all(r["request_id"] and r["status"] == 200 for r in mentions)
    access = [r for r in records if r.get("logger") == "gunicorn.access"]
    assert any(
        r.get("result") == "rejected" and r.get("error") == "payload_too_large" for r in access
    )
