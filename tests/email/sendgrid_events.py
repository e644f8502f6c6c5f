"""Signing SendGrid Event Webhook payloads with a real ECDSA P-256 key, as
SendGrid does: base64 DER signature over timestamp + raw body."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from service.email.provider_events import SIGNATURE_HEADER, TIMESTAMP_HEADER


class Signer:
    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = base64.b64encode(der).decode()  # as SendGrid's settings show it

    def headers(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        stamp = timestamp or str(int(time.time()))
        signature = self.private_key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            SIGNATURE_HEADER: base64.b64encode(signature).decode(),
            TIMESTAMP_HEADER: stamp,
            "Content-Type": "application/json",
        }

    def post(self, client: Any, events: list[dict[str, Any]]) -> Any:
        body = json.dumps(events).encode()
        return client.post("/v1/webhooks/sendgrid", data=body, headers=self.headers(body))


def event(name: str, email: str = "ada@example.com", **fields: Any) -> dict[str, Any]:
    """One event as SendGrid posts it (custom args appear as top-level keys)."""
    return {
        "email": email,
        "timestamp": int(time.time()),
        "event": name,
        "sg_event_id": f"sg-{name}-{time.monotonic_ns()}",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        **fields,
    }
