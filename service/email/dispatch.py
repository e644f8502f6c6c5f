"""Sending due mail: claim a batch, send each message, record each outcome.

Crash safety comes from the order of writes (see outbox.py). A claim is
committed before anything is sent and renewed right before each send; the
outcome is committed right after it. A worker that dies at any point leaves
its messages queued or pending under a claim that expires within
CLAIM_SECONDS, and the next run claims them again: the message in flight may
go out twice, nothing is lost. No transaction is open while a backend talks
to the network, and while the `email` breaker is open nothing is claimed,
so no attempt is spent.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from ..circuits import breaker
from ..extensions import db
from ..ids import new_instance_id
from ..redaction import error_text
from ..timeutil import utcnow
from . import outbox, suppression
from .backends import Backend, OutgoingEmail, SendError, backend_for
from .models import DEAD, DELIVERED, FAILED, PENDING, QUEUED, SKIPPED
from .outbox import Claimed, Outcome
from .templates import render

log = logging.getLogger(__name__)
CIRCUIT = "email"
BATCH_SIZE = 50
# One job run stops claiming after this, so SIGTERM is not kept waiting.
RUN_BUDGET_SECONDS = 20.0


def _failure(message: Claimed, error: SendError, max_attempts: int) -> Outcome:
    exhausted = not error.retryable or message.attempts + 1 >= max_attempts
    return Outcome(DEAD if exhausted else FAILED, str(error), hard_bounce=error.hard_bounce)


def _send(message: Claimed, backend: Backend, settings: Any) -> Outcome | None:
    """One attempt; None when the breaker refused it (nothing spent)."""
    try:
        content = render(message.template, message.context)
    except Exception as exc:  # a template bug or unknown template: no retry helps
        return Outcome(DEAD, f"render_failed: {type(exc).__name__}: {exc}")
    if not breaker.allow(CIRCUIT):
        return None
    email = OutgoingEmail(message.idempotency_key, message.recipient, settings.email_from, content)
    try:
        result = backend.send(email)
    except SendError as error:
        if error.provider_fault:
            breaker.record_failure(CIRCUIT, str(error))
        else:  # the provider answered: it works
            breaker.record_success(CIRCUIT)
        return _failure(message, error, settings.email_max_attempts)
    except Exception as exc:
        # Something about this message (a header the email library refuses,
        # say) that no retry fixes; left unhandled, it would fail every run
        # and block the queue behind it.
        log.exception("email %s: unexpected error while sending", message.id)
        return Outcome(DEAD, f"unexpected: {type(exc).__name__}: {exc}")
    closed = breaker.record_success(CIRCUIT)
    return Outcome(
        result.status, provider_message_id=result.provider_message_id, closed_circuit=closed
    )


@dataclass
class _Run:
    worker: str
    backend: Backend
    settings: Any
    tally: Counter = field(default_factory=Counter)


def _log(message: Claimed, outcome: Outcome) -> None:
    level = logging.INFO if outcome.status in (DELIVERED, SKIPPED) else logging.WARNING
    log.log(
        level,
        "email %s (%s) attempt %d: %s%s",
        message.id,
        message.template,
        message.attempts + 1,
        outcome.status,
        f" ({error_text(outcome.error)})" if outcome.error else "",
        extra={"email_id": message.id, "template": message.template, "outcome": outcome.status},
    )


def _process(message: Claimed, run: _Run) -> bool:
    """Attempt one claimed message; False when the breaker stopped the batch."""
    renewed = outbox.renew(message, run.worker)
    suppressed = renewed and suppression.is_suppressed(message.recipient)
    db.session.commit()  # no transaction stays open across the send
    if not renewed:
        run.tally["lost_claim"] += 1
        return True
    started, clock = utcnow(), time.monotonic()
    if suppressed:
        outcome: Outcome | None = Outcome(SKIPPED, "suppressed recipient")
    else:
        outcome = _send(message, run.backend, run.settings)
    if outcome is None:
        return False
    outcome.started_at = started
    outcome.duration_ms = round((time.monotonic() - clock) * 1000, 1)
    if outbox.record(message, outcome, run.worker, run.backend.name):
        run.tally[outcome.status] += 1
        _log(message, outcome)
    if outcome.closed_circuit:
        run.tally["woken"] += outbox.wake_pending()
    return True


def _drain(status: str, run: _Run) -> None:
    deadline = time.monotonic() + RUN_BUDGET_SECONDS
    while time.monotonic() < deadline:
        if not breaker.would_allow(CIRCUIT):  # open: claim nothing, spend nothing
            run.tally["circuit_open"] += 1
            return
        batch = outbox.claim(status, BATCH_SIZE, run.worker)
        for index, message in enumerate(batch):
            try:
                go_on = _process(message, run)
            except BaseException:
                db.session.rollback()
                # The message in flight keeps its claim until it expires (it
                # may have gone out); the rest can go at once. Best effort.
                with contextlib.suppress(Exception):
                    outbox.release([m.id for m in batch[index + 1 :]], run.worker)
                raise
            if not go_on:
                outbox.release([m.id for m in batch[index:]], run.worker)
                run.tally["released"] += len(batch) - index
                return
        if len(batch) < BATCH_SIZE:
            return


def deliver_due(status: str) -> dict[str, int]:
    """Send what is due in `status` (queued or pending); returns a tally."""
    settings = current_app.config["SETTINGS"]
    with backend_for(settings) as backend:
        run = _Run(new_instance_id(), backend, settings)
        _drain(status, run)
    return dict(run.tally)


def dispatch_queued() -> dict[str, int]:
    """The `email-dispatch` job: send queued mail."""
    return deliver_due(QUEUED)


def retry_pending() -> dict[str, int]:
    """The `email-dlq` job: retry dead letters whose backoff has passed."""
    return deliver_due(PENDING)
