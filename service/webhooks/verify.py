"""Is this delivery from Stripe? Body size, signature (every secret), timestamp, mode.

Verification goes through the Stripe library (`WebhookSignature.verify_header`),
once per configured secret so a secret can be rotated without a gap. The
library only refuses timestamps that are too old; one too far in the future
is refused here too, since a captured delivery signed "in the future" would
stay replayable for longer than the tolerance.
"""

from __future__ import annotations

import time
from typing import IO

from stripe import SignatureVerificationError, WebhookSignature
from werkzeug.exceptions import RequestTimeout

from ..config import Settings
from .event import StripeEvent
from .outcomes import WebhookError, invalid_payload, invalid_signature, payload_mismatch
from .statuses import INVALID_SIGNATURE, REJECTED

MAX_BODY_BYTES = 256 * 1024
_READ_CHUNK = 64 * 1024


def require_secrets(settings: Settings) -> tuple[str, ...]:
    """Without a secret nothing can be verified: refuse loudly, never accept."""
    if not settings.stripe_webhook_secrets:
        raise WebhookError(
            500,
            "server_misconfigured",
            "STRIPE_WEBHOOK_SECRET is not configured; Stripe deliveries cannot be verified.",
            # Counted where the runbook looks for secret/endpoint set-up trouble.
            error_type=INVALID_SIGNATURE,
        )
    return settings.stripe_webhook_secrets


def too_large() -> WebhookError:
    return WebhookError(
        413, "payload_too_large", f"The body exceeds {MAX_BODY_BYTES} bytes.", result=REJECTED
    )


def read_body(stream: IO[bytes], content_length: int | None) -> bytes:
    """Read at most MAX_BODY_BYTES (chunked bodies have no Content-Length to check)."""
    if content_length is not None and content_length > MAX_BODY_BYTES:
        raise too_large()
    chunks: list[bytes] = []
    total = 0
    while True:
        try:
            chunk = stream.read(min(_READ_CHUNK, MAX_BODY_BYTES + 1 - total))
        except RequestTimeout:  # a client trickling its body (service/security.py)
            error = WebhookError(
                408, "request_timeout", "The body did not arrive in time.", result=REJECTED
            )
            error.headers["Connection"] = "close"  # do not drain the rest on a thread
            raise error from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > MAX_BODY_BYTES:
            raise too_large()


def decode(body: bytes) -> str:
    # Stripe signs the UTF-8 text of the body; anything else is not from it.
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_payload("The body is not UTF-8 text.") from None


def _signed_timestamp(header: str) -> int:
    """The `t=` value, read the way the library reads it (the first one)."""
    for item in header.split(","):
        parts = item.split("=", 2)
        if parts[0] == "t":
            return int(parts[1])
    raise ValueError("no timestamp")  # unreachable once verify_header passed


def verify_signature(
    text: str, header: str | None, secrets: tuple[str, ...], tolerance: int
) -> None:
    """Raise invalid_signature unless one secret signed `text` within the tolerance."""
    if not header:
        raise invalid_signature("The Stripe-Signature header is missing.")
    reasons: set[str] = set()
    for secret in secrets:
        try:
            WebhookSignature.verify_header(text, header, secret, tolerance)
            break
        except SignatureVerificationError as exc:
            reasons.add("timestamp" if "tolerance" in str(exc) else "signature")
    else:
        if "timestamp" in reasons:  # a secret matched: the library checks the MAC first
            raise invalid_signature("The signed timestamp is outside the tolerance.")
        raise invalid_signature("No signature matches a configured webhook secret.")
    if _signed_timestamp(header) > time.time() + tolerance:
        raise invalid_signature("The signed timestamp is in the future.")


def key_mode(api_key: str | None) -> bool | None:
    """True for a live key, False for a test key (sk_/rk_), None when unknown."""
    if not api_key:
        return None
    if "_live_" in api_key:
        return True
    if "_test_" in api_key:
        return False
    return None


def check_mode(event: StripeEvent, settings: Settings) -> None:
    expected = key_mode(settings.stripe_api_key)
    if expected is not None and event.livemode is not expected:
        mode = "live" if event.livemode else "test"
        raise payload_mismatch(f"A {mode}-mode event does not match the configured STRIPE_API_KEY.")
