"""The sendgrid backend against a local server speaking the v3 wire format."""

from __future__ import annotations

import pytest

from service.email.backends import DELIVERED, OutgoingEmail, SendError
from service.email.backends.sendgrid import SendGridBackend
from service.email.templates import RenderedEmail
from tests.helpers import free_port

CONTENT = RenderedEmail("Refund", "We refunded $5.00.\n", "<p>We refunded $5.00.</p>")
EMAIL = OutgoingEmail("ch_1:refund_issued", "bob@example.com", "billing@example.com", CONTENT)


def test_202_delivers_with_the_v3_payload(sendgrid):
    fake, base = sendgrid
    with SendGridBackend(base, "SG.test-key") as backend:
        result = backend.send(EMAIL)
    assert result.status == DELIVERED and result.provider_message_id == "sg-1"
    [request] = fake.requests
    assert request["path"] == "/v3/mail/send"
    assert request["headers"]["Authorization"] == "Bearer SG.test-key"
    assert request["headers"]["Content-Type"] == "application/json"
    body = request["json"]
    assert body["personalizations"] == [{"to": [{"email": "bob@example.com"}]}]
    assert body["from"] == {"email": "billing@example.com"}
    assert body["subject"] == "Refund"
    assert body["content"] == [
        {"type": "text/plain", "value": "We refunded $5.00.\n"},
        {"type": "text/html", "value": "<p>We refunded $5.00.</p>"},
    ]
    assert body["headers"]["Message-ID"] == EMAIL.message_id
    assert body["custom_args"] == {"idempotency_key": "ch_1:refund_issued"}


@pytest.mark.parametrize("status", [500, 503, 401])
def test_server_errors_and_credentials_are_retryable(sendgrid, status):
    fake, base = sendgrid
    fake.statuses = [status]
    with SendGridBackend(base, "k") as backend, pytest.raises(SendError) as info:
        backend.send(EMAIL)
    assert info.value.retryable and info.value.provider_fault
    assert info.value.reason == f"http_{status}"
    assert f"HTTP {status}" in str(info.value)


def test_429_is_throttling_and_honours_retry_after(sendgrid):
    fake, base = sendgrid
    fake.statuses, fake.retry_after = [429], "7"
    with SendGridBackend(base, "k") as backend, pytest.raises(SendError) as info:
        backend.send(EMAIL)
    assert info.value.throttle_seconds == 7.0
    assert info.value.reason == "http_429" and not info.value.provider_fault


@pytest.mark.parametrize("status", [400, 413])
def test_a_rejected_request_is_permanent(sendgrid, status):
    fake, base = sendgrid
    fake.statuses = [status]
    with SendGridBackend(base, "k") as backend, pytest.raises(SendError) as info:
        backend.send(EMAIL)
    assert not info.value.retryable and not info.value.provider_fault


def test_one_session_serves_a_batch_and_recovers(sendgrid):
    fake, base = sendgrid
    fake.statuses = [202, 500, 202]
    outcomes = []
    with SendGridBackend(base, "k") as backend:
        for _ in range(3):
            try:
                outcomes.append(backend.send(EMAIL).status)
            except SendError:
                outcomes.append("error")
    assert outcomes == [DELIVERED, "error", DELIVERED]
    assert len(fake.requests) == 3


def test_unreachable_api_is_retryable():
    backend = SendGridBackend(f"http://127.0.0.1:{free_port()}", "k")
    with backend, pytest.raises(SendError) as info:
        backend.send(EMAIL)
    assert info.value.retryable and info.value.provider_fault
