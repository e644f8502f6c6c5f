"""Mail backends behind one small interface, chosen by EMAIL_BACKEND.

A backend is used as a context manager for one batch (an SMTP connection,
an HTTP session) and sends one message per `send` call. It reports a failure
by raising `SendError`, which says whether the message may be retried and
whether the provider itself is at fault (that is what the `email` breaker
counts: a recipient rejected by a working server says nothing about it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from ..models import DELIVERED, SKIPPED
from ..templates import RenderedEmail

if TYPE_CHECKING:
    from ...config import Settings


@dataclass(frozen=True)
class OutgoingEmail:
    idempotency_key: str
    recipient: str
    sender: str
    content: RenderedEmail
    outbox_id: int | None = None

    @property
    def message_id(self) -> str:
        """Stable across retries, so a receiver can drop a copy it already has."""
        digest = hashlib.sha256(self.idempotency_key.encode()).hexdigest()[:32]
        domain = self.sender.rpartition("@")[2] or "localhost"
        return f"<{digest}@{domain}>"


@dataclass(frozen=True)
class SendResult:
    status: str  # delivered, or skipped when nothing left the building
    provider_message_id: str | None = None


class SendError(Exception):
    """A send that did not happen.

    retryable: try the message again later (pending); else it is dead.
    provider_fault: the provider is down or misconfigured (counts against
    the breaker). hard_bounce: the recipient does not exist (suppress it).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        provider_fault: bool,
        hard_bounce: bool = False,
        reason: str = "send_error",
        throttle_seconds: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.provider_fault = provider_fault
        self.hard_bounce = hard_bounce
        self.reason = reason
        # Set when the provider asked us to slow down (HTTP 429, SMTP 421):
        # the whole fleet pauses this long and no attempt is spent.
        self.throttle_seconds = throttle_seconds


def retryable(message: str, reason: str) -> SendError:
    return SendError(message, retryable=True, provider_fault=True, reason=reason)


DEFAULT_THROTTLE_SECONDS = 10.0


def throttled(message: str, reason: str, seconds: float | None = None) -> SendError:
    return SendError(
        message,
        retryable=True,
        provider_fault=False,
        reason=reason,
        throttle_seconds=seconds if seconds and seconds > 0 else DEFAULT_THROTTLE_SECONDS,
    )


def permanent(message: str, reason: str, hard_bounce: bool = False) -> SendError:
    return SendError(
        message, retryable=False, provider_fault=False, hard_bounce=hard_bounce, reason=reason
    )


class Backend:
    """Base: a no-op batch context; subclasses implement `send`."""

    name = "base"

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release what the batch held (connection, session)."""

    def send(self, email: OutgoingEmail) -> SendResult:
        raise NotImplementedError


def backend_for(settings: Settings) -> Backend:
    if settings.email_backend == "smtp":
        from .smtp import SmtpBackend

        return SmtpBackend.from_settings(settings)
    if settings.email_backend == "sendgrid":
        from .sendgrid import SendGridBackend

        return SendGridBackend.from_settings(settings)
    from .console import ConsoleBackend

    return ConsoleBackend()


__all__ = [
    "DELIVERED",
    "SKIPPED",
    "Backend",
    "OutgoingEmail",
    "SendError",
    "SendResult",
    "backend_for",
    "permanent",
    "retryable",
    "throttled",
]
