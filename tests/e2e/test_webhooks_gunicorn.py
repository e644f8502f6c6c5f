"""Stripe deliveries through real Gunicorn workers (the Procfile `web` line)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.conftest import METRICS_TOKEN, json_lines
from tests.webhooks import stripe_events as se
from tests.webhooks.helpers import outbox_rows, stored_event, webhook_counters

pytestmark = pytest.mark.e2e
COPIES = 20


def _counters(base: str) -> dict[str, float]:
    response = requests.get(f"{base}/metrics", params={"token": METRICS_TOKEN}, timeout=10)
    assert response.status_code == 200
    return webhook_counters(response.text)


def test_concurrent_copies_of_one_event_apply_once(start_web, migrated):
    proc, base = start_web(workers=4, STRIPE_WEBHOOK_SECRET=se.SECRET)
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
    assert stored_event(migrated, evt["id"])["status"] == "processed"
    counters = _counters(base)
    assert (counters["result:processed"], counters["result:duplicate"]) == (1, COPIES - 1)

    proc.stop()
    output = proc.output()
    assert se.SECRET not in output
    assert header.split("v1=")[1] not in output  # no signature in any log line
    assert any(r.get("logger") == "service.webhooks.views" for r in json_lines(output))


def test_chunked_body_over_the_limit_is_refused(start_web):
    _, base = start_web(workers=2, STRIPE_WEBHOOK_SECRET=se.SECRET)

    def chunks():  # no Content-Length: the limit must hold while reading
        for _ in range(5):
            yield b" " * (64 * 1024)
        yield b"{}"

    before = _counters(base)
    response = requests.post(
        f"{base}/v1/webhooks/stripe",
        data=chunks(),
        headers={"Stripe-Signature": "t=1,v1=00", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert _counters(base)["result:rejected"] - before["result:rejected"] == 1


def test_missing_secret_in_production_is_a_500_not_an_accept(start_web, migrated):
    _, base = start_web(workers=1)
    evt = se.event("invoice.paid", se.invoice("cus_NoSecret"))
    payload = se.body(evt)
    response = requests.post(
        f"{base}/v1/webhooks/stripe",
        data=payload,
        headers={"Stripe-Signature": se.sign(payload)},
        timeout=10,
    )
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_misconfigured"
    assert stored_event(migrated, evt["id"]) is None
