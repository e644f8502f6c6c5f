"""`smtp`: smtplib against SMTP_URL, one connection reused across a batch.

SMTP_URL is `smtp://user:pass@host:port` (plain, or `?starttls=true` to
upgrade), or `smtps://...` for implicit TLS; `?timeout=SECONDS` bounds every
socket operation (default 10), so a server that accepts and never answers
costs one timeout, not a hung worker. Certificates are verified against the
system's trust store (SSL_CERT_FILE is honoured).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from typing import TYPE_CHECKING

from ...config import SmtpTarget
from . import (
    DELIVERED,
    Backend,
    OutgoingEmail,
    SendError,
    SendResult,
    permanent,
    retryable,
    throttled,
)
from .mime import build_message, message_bytes

if TYPE_CHECKING:
    from ...config import Settings

__all__ = ["SmtpBackend", "SmtpTarget", "build_message", "classify"]


def _smtp_code(exc: Exception) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return min((reply[0] for reply in exc.recipients.values()), default=None)
    return getattr(exc, "smtp_code", None)


def classify(exc: Exception) -> SendError:
    """smtplib's exceptions -> retryable (4xx, network, auth) or permanent (5xx)."""
    text = f"{type(exc).__name__}: {exc}"
    if _smtp_code(exc) == 421:  # "service not available": the relay asks us to back off
        return throttled(text, "smtp_421")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code = min((reply[0] for reply in exc.recipients.values()), default=0)
        if code >= 500:
            return permanent(text, "recipient_rejected", hard_bounce=True)
        return retryable(text, f"smtp_{code}" if code else "recipient_deferred")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return retryable(text, "auth_failed")  # fix the credentials, then drain
    if isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500:
        return permanent(text, "message_rejected")
    if isinstance(exc, smtplib.SMTPResponseException):
        return retryable(text, f"smtp_{exc.smtp_code}")
    if isinstance(exc, TimeoutError):
        return retryable(text, "timeout")
    if isinstance(exc, ConnectionRefusedError):
        return retryable(text, "connection_refused")
    return retryable(text, type(exc).__name__)  # disconnects, TLS, other OSError


class SmtpBackend(Backend):
    name = "smtp"

    def __init__(self, target: SmtpTarget) -> None:
        self.target = target
        self._connection: smtplib.SMTP | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpBackend:
        return cls(SmtpTarget.parse(settings.smtp_url or ""))

    def _connect(self) -> smtplib.SMTP:
        t = self.target
        # An explicit EHLO name: smtplib's default asks DNS for our FQDN.
        local = socket.gethostname()
        if t.implicit_tls:
            context = ssl.create_default_context()
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                t.host, t.port, local_hostname=local, timeout=t.timeout, context=context
            )
        else:
            connection = smtplib.SMTP(t.host, t.port, local_hostname=local, timeout=t.timeout)
        try:
            if t.starttls:
                connection.starttls(context=ssl.create_default_context())
            if t.username:
                connection.login(t.username, t.password or "")
        except BaseException:
            connection.close()
            raise
        return connection

    def send(self, email: OutgoingEmail) -> SendResult:
        try:
            if self._connection is None:
                self._connection = self._connect()
            if email.sender.isascii() and email.recipient.isascii():
                self._connection.sendmail(email.sender, [email.recipient], message_bytes(email))
            else:  # an internationalised address: smtplib decides on SMTPUTF8
                self._connection.send_message(build_message(email))
        except (smtplib.SMTPException, OSError) as exc:
            error = classify(exc)
            if error.retryable:  # the connection may be broken: start afresh
                self.close()
            raise error from exc
        return SendResult(DELIVERED, provider_message_id=email.message_id)

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()
