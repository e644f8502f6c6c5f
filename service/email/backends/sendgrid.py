"""`sendgrid`: SendGrid's v3 mail send over HTTP, one session per batch.

202 is success (the X-Message-Id header is the provider's id). 429, 5xx,
401/403 (credentials: fix them, then drain the queue) and network errors
are retryable; any other 4xx means this message is malformed and is dead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

from . import DELIVERED, Backend, OutgoingEmail, SendResult, permanent, retryable, throttled

if TYPE_CHECKING:
    from ...config import Settings

CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 15.0
RETRYABLE_STATUS = frozenset({401, 403, 408, 429})


def payload(email: OutgoingEmail) -> dict[str, Any]:
    return {
        "personalizations": [{"to": [{"email": email.recipient}]}],
        "from": {"email": email.sender},
        "subject": email.content.subject,
        # SendGrid requires text/plain before text/html.
        "content": [
            {"type": "text/plain", "value": email.content.text},
            {"type": "text/html", "value": email.content.html},
        ],
        "headers": {"Message-ID": email.message_id, "Auto-Submitted": "auto-generated"},
        # Echoed back by the Event Webhook: how its events find the message.
        "custom_args": {
            "idempotency_key": email.idempotency_key,
            **({"outbox_id": str(email.outbox_id)} if email.outbox_id is not None else {}),
        },
    }


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is not used by SendGrid)."""
    try:
        return float(value) if value else None
    except ValueError:
        return None


class SendGridBackend(Backend):
    name = "sendgrid"

    def __init__(self, api_base: str, api_key: str) -> None:
        self.url = f"{api_base.rstrip('/')}/v3/mail/send"
        self.api_key = api_key
        self._session: requests.Session | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SendGridBackend:
        return cls(settings.sendgrid_api_base, settings.sendgrid_api_key or "")

    def send(self, email: OutgoingEmail) -> SendResult:
        if self._session is None:
            self._session = requests.Session()
            self._session.headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            response = self._session.post(
                self.url,
                json=payload(email),
                timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS),
            )
        except requests.RequestException as exc:
            self.close()
            raise retryable(f"{type(exc).__name__}: {exc}", type(exc).__name__) from exc
        if response.status_code in (200, 202):
            return SendResult(DELIVERED, response.headers.get("X-Message-Id"))
        detail = f"HTTP {response.status_code}: {response.text[:300]}"
        reason = f"http_{response.status_code}"
        if response.status_code == 429:
            raise throttled(detail, reason, _retry_after(response.headers.get("Retry-After")))
        if response.status_code >= 500 or response.status_code in RETRYABLE_STATUS:
            raise retryable(detail, reason)
        raise permanent(detail, reason)

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()
