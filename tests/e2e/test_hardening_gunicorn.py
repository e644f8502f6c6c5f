"""The Procfile's `web` under real Gunicorn: slow clients, banner, headers, body limit."""

from __future__ import annotations

import contextlib
import socket
import time

import pytest
import requests

from service.security import BODY_DEADLINE_SECONDS
from tests.e2e.conftest import ADMIN_TOKEN, METRICS_TOKEN
from tests.helpers import sample_value

pytestmark = [pytest.mark.e2e, pytest.mark.single_backend]


def _slow_client(port: int) -> socket.socket:
    """Headers of a webhook delivery promising 1000 bytes, then one byte."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(
        b"POST /v1/webhooks/stripe HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nStripe-Signature: t=1,v1=00\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    return sock


def test_slow_clients_do_not_take_the_web_tier_down(start_web):
    workers = 2
    # With a secret configured the endpoint reads the body before answering.
    _, base = start_web(
        workers=workers, WEB_THREADS="4", STRIPE_WEBHOOK_SECRET="whsec_slow_clients_0123456789"
    )
    port = int(base.rsplit(":", 1)[1])
    with contextlib.ExitStack() as stack:
        for _ in range(workers + 1):  # more slow sockets than workers
            stack.enter_context(_slow_client(port))
        time.sleep(0.5)  # let every worker pick its slow sockets up
        for _ in range(6):
            # A fresh connection each, so the kernel may hand it to any worker.
            response = requests.get(f"{base}/healthz", headers={"Connection": "close"}, timeout=1)
            assert response.status_code == 200


def test_no_server_banner_and_security_headers(start_web):
    _, base = start_web(workers=1)
    for url, headers in [
        (f"{base}/healthz", {}),
        (f"{base}/v1/admin/jobs/status", {"Authorization": f"Bearer {ADMIN_TOKEN}"}),
        (f"{base}/v1/admin/unknown", {}),
    ]:
        response = requests.get(url, headers=headers, timeout=5)
        assert "Server" not in response.headers, url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    admin = requests.get(
        f"{base}/v1/admin/jobs/status",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=5,
    )
    assert admin.headers["Cache-Control"] == "no-store"
    assert requests.get(f"{base}/v1/admin/unknown", timeout=5).status_code == 401


def test_a_chunked_admin_body_over_one_mib_gets_413(start_web):
    _, base = start_web(workers=1)

    def body():
        for _ in range(24):
            yield b" " * (64 * 1024)

    response = requests.post(
        f"{base}/v1/admin/export-dead-letter/replay",
        data=body(),  # a generator: requests sends it chunked
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_body_that_never_arrives_is_cut_off_and_the_thread_freed(start_web):
    """Every thread of the only worker held by trickling bodies: each gets a
    408 at the body deadline, the connection is closed, and the worker serves
    again."""
    _, base = start_web(
        workers=1, WEB_THREADS="2", STRIPE_WEBHOOK_SECRET="whsec_slow_clients_0123456789"
    )
    port = int(base.rsplit(":", 1)[1])
    with contextlib.ExitStack() as stack:
        slow = [stack.enter_context(_slow_client(port)) for _ in range(2)]
        started = time.monotonic()
        for sock in slow:
            sock.settimeout(BODY_DEADLINE_SECONDS + 10)
            answer = b""
            while chunk := sock.recv(4096):  # until the server closes the connection
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
            assert b"request_timeout" in answer
        assert time.monotonic() - started < BODY_DEADLINE_SECONDS + 10
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    text = requests.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    ).text
    assert sample_value(text, "webhook_events_total", result="rejected") == 2
