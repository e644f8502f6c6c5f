"""Real servers on loopback for the email tests: aiosmtpd, a silent socket,
and an HTTP server speaking SendGrid's v3 mail send wire format."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.helpers import free_port, silent_server  # noqa: F401  (re-exported)


class RecordingHandler:
    """aiosmtpd handler: keeps what it accepts; can answer RCPT/DATA with a
    chosen reply instead (e.g. '451 4.3.0 try later', '550 5.1.1 no such user')."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.peers: list[tuple[str, int]] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.peers.append(session.peer)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 Message accepted"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m["Message-ID"] for m in self.messages]


@contextlib.contextmanager
def smtp_server(port: int | None = None, **kwargs: Any) -> Iterator[tuple[Controller, int]]:
    """aiosmtpd on 127.0.0.1; kwargs go to Controller (TLS, auth)."""
    handler = kwargs.pop("handler", None) or RecordingHandler()
    port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield controller, port
    finally:
        controller.stop()


class SendGridFake:
    """Records each POST /v3/mail/send; answers with the next queued status."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.retry_after: str | None = None  # Retry-After sent with a 429
        self.lock = threading.Lock()

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 202


def _sendgrid_handler(fake: SendGridFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with fake.lock:
                fake.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                )
                number = len(fake.requests)
            status = fake.next_status() if self.path == "/v3/mail/send" else 404
            payload = (
                b""
                if status == 202
                else json.dumps(
                    {"errors": [{"message": f"status {status}", "field": None}]}
                ).encode()
            )
            self.send_response(status)
            if status == 202:
                self.send_header("X-Message-Id", f"sg-{number}")
            if status == 429 and fake.retry_after:
                self.send_header("Retry-After", fake.retry_after)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextlib.contextmanager
def sendgrid_server() -> Iterator[tuple[SendGridFake, str]]:
    fake = SendGridFake()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _sendgrid_handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
