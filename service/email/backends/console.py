"""`console`: writes each message to the log and sends nothing (development)."""

from __future__ import annotations

import logging

from . import SKIPPED, Backend, OutgoingEmail, SendResult

log = logging.getLogger("service.email.console")


class ConsoleBackend(Backend):
    name = "console"

    def send(self, email: OutgoingEmail) -> SendResult:
        log.info(
            "email (console backend, not sent) to %s: %s\n%s",
            email.recipient,
            email.content.subject,
            email.content.text,
            extra={"recipient": email.recipient, "message_id": email.message_id},
        )
        # Nothing left the building: counted as skipped, never as delivered.
        return SendResult(SKIPPED)
