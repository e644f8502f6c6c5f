"""SendGrid's signed Event Webhook: verify, then feed the suppression list.

Signature (SendGrid "Event Webhook security features"): ECDSA P-256 with
SHA-256 over the `X-Twilio-Email-Event-Webhook-Timestamp` header value
followed by the raw request body, sent base64 (DER) in
`X-Twilio-Email-Event-Webhook-Signature`; the verification key is shown in
SendGrid's settings as base64 DER (SubjectPublicKeyInfo), which is what
SENDGRID_WEBHOOK_PUBLIC_KEY holds. Verified with `cryptography`.

The body is a JSON array of events. What each does:
- `bounce` (hard: `type` is `bounce`; `blocked` is a soft block), `dropped`,
  `spamreport`, `unsubscribe`/`group_unsubscribe`: the address joins the
  suppression list with the reason and time, and its queued or pending mail
  (not claimed right now) becomes `skipped`;
- every event naming one of our messages (custom arg `outbox_id`, which
  dispatch sends, else `idempotency_key`) is recorded on it as
  `provider_event` / `provider_event_at`, `delivered` and `deferred` included;
- each is counted in email_provider_events_total{event}.
Replays are harmless: suppressing twice and recording the same event twice
change nothing, so no timestamp tolerance is enforced.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from sqlalchemy import func, or_, update

from ..db import rows_changed
from ..extensions import db
from ..jobstate import counters
from ..timeutil import utcnow
from . import suppression
from .models import PENDING, QUEUED, SKIPPED, EmailMessage

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
# Event name -> suppression reason. A `bounce` counts only when hard.
SUPPRESSING = {
    "bounce": suppression.HARD_BOUNCE,
    "dropped": suppression.DROPPED,
    "spamreport": suppression.SPAM_REPORT,
    "unsubscribe": suppression.UNSUBSCRIBE,
    "group_unsubscribe": suppression.UNSUBSCRIBE,
}
# SendGrid's documented event names; anything else is counted as `other`,
# so no sender can grow the label set.
KNOWN_EVENTS = frozenset(
    {"processed", "deferred", "delivered", "open", "click", "bounce", "dropped"}
    | {"spamreport", "unsubscribe", "group_unsubscribe", "group_resubscribe", "blocked"}
)


class BadKey(Exception):
    """SENDGRID_WEBHOOK_PUBLIC_KEY is not an EC P-256 public key."""


@functools.cache
def _public_key(encoded: str) -> ec.EllipticCurvePublicKey:
    try:
        key = load_der_public_key(base64.b64decode(encoded))
    except (ValueError, binascii.Error) as exc:
        raise BadKey(str(exc)) from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise BadKey("not an elliptic-curve key")
    return key


def verify(public_key: str, signature: str | None, timestamp: str | None, body: bytes) -> bool:
    """True if `signature` signs timestamp + body under the configured key."""
    if not signature or not timestamp:
        return False
    key = _public_key(public_key)
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def _label(event: Mapping[str, Any]) -> str:
    name = event.get("event")
    if name == "bounce" and event.get("type") == "blocked":
        return "blocked"  # a soft block, reported under its own label
    return name if isinstance(name, str) and name in KNOWN_EVENTS else "other"


def _when(event: Mapping[str, Any]) -> datetime:
    stamp = event.get("timestamp")
    if isinstance(stamp, int | float) and 0 < stamp < 2**33:
        return datetime.fromtimestamp(stamp, UTC)
    return utcnow()


def _message_filter(event: Mapping[str, Any]) -> Any:
    outbox_id = event.get("outbox_id")
    if isinstance(outbox_id, str | int) and str(outbox_id).isdigit():
        return EmailMessage.id == int(outbox_id)
    key = event.get("idempotency_key")
    if isinstance(key, str) and key:
        return EmailMessage.idempotency_key == key
    return None


def _record_on_message(event: Mapping[str, Any], label: str, when: datetime) -> None:
    match = _message_filter(event)
    if match is None:
        return
    db.session.execute(
        update(EmailMessage)
        .where(match)
        .where(
            or_(EmailMessage.provider_event_at.is_(None), EmailMessage.provider_event_at <= when)
        )
        .values(provider_event=label, provider_event_at=when)
        .execution_options(synchronize_session=False)
    )


def skip_unsent(address: str, reason: str) -> int:
    """Queued or pending mail to a newly suppressed address will not go out.
    A message claimed right now is left to its sender (already checked)."""
    now = utcnow()
    return rows_changed(
        update(EmailMessage)
        .where(
            func.lower(func.trim(EmailMessage.recipient)) == suppression.normalize(address),
            EmailMessage.status.in_((QUEUED, PENDING)),
            or_(EmailMessage.claimed_until.is_(None), EmailMessage.claimed_until < now),
        )
        .values(
            status=SKIPPED,
            last_error=f"suppressed: {reason}",
            next_attempt_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


def _suppress(event: Mapping[str, Any], label: str, tally: Counter) -> None:
    reason = SUPPRESSING.get(label)
    address = event.get("email")
    if reason is None or not isinstance(address, str) or "@" not in address:
        return
    detail = event.get("reason") or event.get("status") or label
    if suppression.suppress(address, reason, f"sendgrid {label}: {str(detail)[:500]}"):
        tally["suppressed"] += 1
    skipped = skip_unsent(address, reason)
    if skipped:
        tally["skipped"] += skipped
        counters.increment("email_skipped_total", {"reason": "suppressed"}, skipped)


def apply(events: list[Any]) -> dict[str, int]:
    """Apply a verified batch in the caller's transaction; returns a tally."""
    tally: Counter = Counter()
    for event in events:
        if not isinstance(event, dict):
            tally["malformed"] += 1
            continue
        label = _label(event)
        counters.increment("email_provider_events_total", {"event": label})
        tally[label] += 1
        _suppress(event, label, tally)
        _record_on_message(event, label, _when(event))
    return dict(tally)
