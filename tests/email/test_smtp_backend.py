"""The smtp backend against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import time

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from service.email.backends import DELIVERED, OutgoingEmail, SendError
from service.email.backends.smtp import SmtpBackend, SmtpTarget
from service.email.templates import RenderedEmail
from tests.email.servers import RecordingHandler, smtp_server
from tests.helpers import free_port

CONTENT = RenderedEmail(
    "Your receipt", "Thanks for paying $12.34.\n", "<p>Thanks for <b>$12.34</b></p>"
)


def email(key: str = "evt_1:receipt", to: str = "ann@example.com") -> OutgoingEmail:
    return OutgoingEmail(key, to, "billing@example.com", CONTENT)


def backend(port: int, query: str = "", scheme: str = "smtp", auth: str = "") -> SmtpBackend:
    return SmtpBackend(SmtpTarget.parse(f"{scheme}://{auth}127.0.0.1:{port}{query}"))


def test_delivers_with_headers_and_both_parts(smtp):
    handler, port = smtp
    with backend(port) as b:
        result = b.send(email())
    assert result.status == DELIVERED
    [message] = handler.messages
    assert message["From"] == "billing@example.com"
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "Your receipt"
    assert message["Message-ID"] == email().message_id == result.provider_message_id
    assert message["Date"] and message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Thanks for paying $12.34." in text
    assert "<b>$12.34</b>" in html
    assert handler.envelopes == [("billing@example.com", ["ann@example.com"])]


def test_message_id_is_stable_per_idempotency_key():
    assert email("k1").message_id == email("k1").message_id != email("k2").message_id
    assert email("k1").message_id.endswith("@example.com>")


def test_one_connection_serves_a_batch(smtp):
    handler, port = smtp
    with backend(port) as b:
        for n in range(3):
            b.send(email(f"k{n}"))
    assert len(handler.messages) == 3
    assert len(set(handler.peers)) == 1, "each message opened its own connection"


def test_connection_refused_is_retryable():
    with backend(free_port()) as b, pytest.raises(SendError) as info:
        b.send(email())
    assert info.value.retryable and info.value.provider_fault
    assert info.value.reason == "connection_refused"


@pytest.mark.parametrize("stage", ["rcpt", "data"])
@pytest.mark.parametrize("reply", ["450 4.2.0 mailbox busy", "451 4.3.0 try again later"])
def test_4xx_replies_are_retryable(smtp, stage, reply):
    handler, port = smtp
    setattr(handler, f"{stage}_reply", reply)
    with backend(port) as b, pytest.raises(SendError) as info:
        b.send(email())
    assert info.value.retryable and info.value.provider_fault
    assert not info.value.hard_bounce
    assert reply[:3] in str(info.value)


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_421_is_throttling_not_a_failure(smtp, stage):
    handler, port = smtp
    setattr(handler, f"{stage}_reply", "421 4.7.0 slow down")
    with backend(port) as b, pytest.raises(SendError) as info:
        b.send(email())
    assert info.value.throttle_seconds and info.value.throttle_seconds > 0
    assert not info.value.provider_fault and info.value.reason == "smtp_421"


def test_550_recipient_rejection_is_permanent_and_a_hard_bounce(smtp):
    handler, port = smtp
    handler.rcpt_reply = "550 5.1.1 no such user"
    with backend(port) as b, pytest.raises(SendError) as info:
        b.send(email())
    error = info.value
    assert not error.retryable and not error.provider_fault and error.hard_bounce
    assert error.reason == "recipient_rejected"


def test_connection_survives_a_permanent_rejection(smtp):
    handler, port = smtp
    with backend(port) as b:
        handler.rcpt_reply = "550 5.1.1 no such user"
        with pytest.raises(SendError):
            b.send(email("k1"))
        handler.rcpt_reply = None
        b.send(email("k2"))
    assert len(handler.messages) == 1


def test_554_on_data_is_permanent_but_not_a_bounce(smtp):
    handler, port = smtp
    handler.data_reply = "554 5.6.0 message content rejected"
    with backend(port) as b, pytest.raises(SendError) as info:
        b.send(email())
    assert not info.value.retryable and not info.value.hard_bounce


def test_a_server_that_never_answers_costs_one_timeout(silent_port):
    started = time.monotonic()
    with backend(silent_port, "?timeout=1") as b, pytest.raises(SendError) as info:
        b.send(email())
    elapsed = time.monotonic() - started
    assert info.value.retryable and info.value.provider_fault
    assert 0.9 <= elapsed < 3, f"the timeout did not hold: {elapsed:.1f}s"


def test_reconnects_after_a_retryable_failure(smtp):
    handler, port = smtp
    with backend(port) as b:
        handler.data_reply = "451 4.3.2 closing"
        with pytest.raises(SendError):
            b.send(email("k1"))
        handler.data_reply = None
        b.send(email("k2"))
    assert len(handler.messages) == 1


class Passwords:
    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        self.logins.append(auth_data.login.decode())
        ok = (auth_data.login, auth_data.password) == (b"mailer", b"s3cret/pw")
        return AuthResult(success=ok, handled=False)


def test_starttls_and_auth(tls):
    passwords = Passwords()
    handler = RecordingHandler()
    kwargs = {"tls_context": tls, "require_starttls": True, "authenticator": passwords}
    with (
        smtp_server(handler=handler, **kwargs) as (_, port),
        backend(port, "?starttls=true", auth="mailer:s3cret%2Fpw@") as b,
    ):
        b.send(email())
    assert passwords.logins == ["mailer"]
    assert len(handler.messages) == 1


def test_wrong_password_is_retryable(tls):
    kwargs = {"tls_context": tls, "require_starttls": True, "authenticator": Passwords()}
    with (
        smtp_server(**kwargs) as (_, port),
        backend(port, "?starttls=true", auth="mailer:wrong@") as b,
        pytest.raises(SendError) as info,
    ):
        b.send(email())
    assert info.value.retryable and info.value.reason == "auth_failed"


def test_implicit_tls(tls):
    handler = RecordingHandler()
    with (
        smtp_server(handler=handler, ssl_context=tls) as (_, port),
        backend(port, "", "smtps") as b,
    ):
        b.send(email())
    assert len(handler.messages) == 1


def test_untrusted_certificate_is_refused(tls, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE")
    with (
        smtp_server(ssl_context=tls) as (_, port),
        backend(port, "", "smtps") as b,
        pytest.raises(SendError) as info,
    ):
        b.send(email())
    assert info.value.retryable


def test_url_parsing():
    t = SmtpTarget.parse("smtps://u%40x:p%3Aw@mail.example.com?timeout=3")
    assert (t.host, t.port, t.implicit_tls, t.starttls) == ("mail.example.com", 465, True, False)
    assert (t.username, t.password, t.timeout) == ("u@x", "p:w", 3.0)
    t = SmtpTarget.parse("smtp://mail:587?starttls=true")
    assert (t.port, t.starttls, t.username, t.timeout) == (587, True, None, 10.0)
