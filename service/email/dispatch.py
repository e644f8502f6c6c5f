"""Sending due mail: claim one message, send it, record it; several at once.

Crash safety comes from the order of writes (see outbox.py). A message is
claimed right before it is sent (`outbox.claim_one`); its outcome is
committed right after, in the same transaction that claims the next one, so
each message costs one commit. A worker that dies at any point leaves only
the messages it had in flight (one per send slot) claimed, until
EMAIL_CLAIM_SECONDS; everything else stays claimable at once. No transaction
is open while a backend talks to the network, and while the `email` breaker
is open nothing is claimed, so no attempt is spent.

Every worker process runs this (not only the leader): EMAIL_CONCURRENCY send
slots per process, each a thread with its own app context, database session
and backend connection. A fleet-wide rate cap and provider pauses go through
the send gate (gate.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from ..circuits import breaker
from ..extensions import db
from ..ids import new_instance_id
from ..redaction import error_text
from ..timeutil import utcnow
from . import fastpath, outbox, validity
from .backends import Backend, OutgoingEmail, SendError, backend_for
from .gate import Gate
from .models import DEAD, DELIVERED, FAILED, PENDING, QUEUED, SKIPPED
from .outbox import Claimed, Outcome
from .templates import render

log = logging.getLogger(__name__)
CIRCUIT = "email"
# One job run stops claiming after this, so SIGTERM is not kept waiting.
RUN_BUDGET_SECONDS = 20.0


class _Suspicion:
    """Process-wide: a send slot saw the provider fail, so a claim's view of
    the breaker may be stale (the failures may be opening it right now).

    Every send of this process, in any run of either email job, asks the
    breaker itself until no claim from before the failure can be valid any
    more (EMAIL_CLAIM_SECONDS). Per run, an email-dlq slot could send on a
    clean claim right after an email-dispatch slot opened the breaker.
    """

    def __init__(self) -> None:
        self._until = float("-inf")

    def mark(self, seconds: float) -> None:
        self._until = max(self._until, time.monotonic() + seconds)

    def active(self) -> bool:
        return time.monotonic() < self._until

    def clear(self) -> None:
        self._until = float("-inf")


SUSPECT = _Suspicion()


def _failure(message: Claimed, error: SendError, max_attempts: int) -> Outcome:
    exhausted = not error.retryable or message.attempts + 1 >= max_attempts
    return Outcome(DEAD if exhausted else FAILED, str(error), hard_bounce=error.hard_bounce)


def _expired(message: Claimed) -> Outcome | None:
    why = validity.expired(message.template, message.context, message.created_at, utcnow())
    if why is None:
        return None
    return Outcome(SKIPPED, f"expired: {why}", skip_reason="expired")


def _send(message: Claimed, backend: Backend, run: _Run) -> Outcome | None:
    """One attempt; None when the breaker refused it (nothing spent)."""
    settings = run.settings
    try:
        content = render(message.template, message.context)
    except Exception as exc:  # a template bug or unknown template: no retry helps
        return Outcome(DEAD, f"render_failed: {type(exc).__name__}: {exc}")
    # The breaker as the claim saw it is enough only while no slot of this
    # run has seen the provider fail since: a failure here may be opening it.
    clean = message.circuit_clean and not SUSPECT.active()
    if not clean and not breaker.allow(CIRCUIT):
        return None
    email = OutgoingEmail(
        message.idempotency_key, message.recipient, settings.email_from, content, message.id
    )
    try:
        result = backend.send(email)
    except SendError as error:
        if error.throttle_seconds is not None:
            raise
        if error.provider_fault:
            # Before the breaker may open: every slot of this process (any
            # run, dispatch or dead letters) asks it first from now on.
            SUSPECT.mark(settings.email_claim_seconds)
            breaker.record_failure(CIRCUIT, str(error))
        elif not clean:  # the provider answered: it works
            breaker.record_success(CIRCUIT)
        return _failure(message, error, settings.email_max_attempts)
    except Exception as exc:
        # Something about this message (a header the email library refuses,
        # say) that no retry fixes; left unhandled, it would fail every run
        # and block the queue behind it.
        log.exception("email %s: unexpected error while sending", message.id)
        return Outcome(DEAD, f"unexpected: {type(exc).__name__}: {exc}")
    # A clean breaker (closed, no failures) at claim time needs no write.
    closed = False if clean else breaker.record_success(CIRCUIT)
    skip = "console" if result.status == SKIPPED else None
    return Outcome(
        result.status,
        provider_message_id=result.provider_message_id,
        closed_circuit=closed,
        skip_reason=skip,
    )


@dataclass
class _Run:
    worker: str
    status: str
    settings: Any
    deadline: float
    tally: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopped: threading.Event = field(default_factory=threading.Event)

    def count(self, key: str, amount: int = 1) -> None:
        with self.lock:
            self.tally[key] += amount

    def going(self) -> bool:
        return not self.stopped.is_set() and time.monotonic() < self.deadline


# A delivery is the common case and is in its attempt row and the run's
# tally line: one log line per email sent cost a tenth of the worker's CPU
# per message. What needs a look (skipped, failed, dead) still logs each.
_LEVELS = {DELIVERED: logging.DEBUG, SKIPPED: logging.INFO}


def _log(message: Claimed, outcome: Outcome) -> None:
    level = _LEVELS.get(outcome.status, logging.WARNING)
    if not log.isEnabledFor(level):
        return
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


def _attempt(message: Claimed, backend: Backend, run: _Run, gate: Gate) -> Outcome | None:
    """Send one claimed message; None when it was given back unsent (breaker
    open, provider throttling: no attempt spent)."""
    started, clock = utcnow(), time.monotonic()
    if message.suppressed:
        outcome: Outcome | None = Outcome(SKIPPED, "suppressed recipient", skip_reason="suppressed")
    else:
        outcome = _expired(message)
        if db.session().in_transaction():  # the validity check read: none across a send
            db.session.commit()
        if outcome is None:
            outcome = _throttle_guard(message, backend, run, gate)
    if outcome is None:
        outbox.release([message.id], run.worker)
        return None
    outcome.started_at = started
    outcome.duration_ms = round((time.monotonic() - clock) * 1000, 1)
    return outcome


def _throttle_guard(message: Claimed, backend: Backend, run: _Run, gate: Gate) -> Outcome | None:
    try:
        outcome = _send(message, backend, run)
    except SendError as error:  # throttled: pause the fleet, spend nothing
        seconds = error.throttle_seconds or 0.0
        db.session.rollback()
        gate.pause(seconds, error.reason)
        run.count("throttled")
        log.warning(
            "email backend throttled us (%s): every sender pauses %.1fs",
            error.reason,
            seconds,
            extra={"reason": error.reason, "pause_seconds": seconds},
        )
        return None
    if outcome is None:
        run.count("circuit_open")
        run.stopped.set()  # the breaker is open: every slot stops claiming
    return outcome


def _next(run: _Run, gate: Gate) -> Claimed | None:
    """Wait for a send slot under the rate cap, then claim. Commits. While
    the provider has the fleet paused this run ends: the next tick looks again."""
    if gate.pause_left() > 0:
        run.stopped.set()
        return None
    slot = gate.reserve()
    wait = slot - gate.clock()
    if wait > 0:
        if time.monotonic() + wait > run.deadline:
            gate.give_back(slot)
            run.stopped.set()
            return None
        time.sleep(wait)
    message = outbox.claim_one(run.status, run.worker)
    db.session.commit()
    if message is None:
        gate.give_back(slot)
    return message


def _finish(
    message: Claimed,
    outcome: Outcome,
    backend: Backend,
    run: _Run,
    gate: Gate,
    connection: Connection,
) -> Claimed | None:
    """Record an outcome; claim the next message in the same commit when no
    wait is due (the one-commit-per-message path). Returns the next message."""
    # Decided before the outcome is written: reading the pause commits.
    can_fold = run.going() and not gate.limited and gate.pause_left() == 0
    if can_fold and fastpath.applies(outcome, connection):  # PostgreSQL: one statement
        if db.session().in_transaction():  # nothing of the session's stays open
            db.session.commit()
        recorded, following = fastpath.deliver_and_claim(
            connection, message, outcome, run.worker, backend.name, run.status
        )
    else:
        # The claim first: the outcome's counter upsert locks a row every
        # sender updates, so it goes last, right before the commit.
        following = outbox.claim_one(run.status, run.worker) if can_fold else None
        recorded = outbox.write_outcome(message, outcome, run.worker, backend.name)
        if not recorded:  # rolled back, the claim of `following` with it
            following = None
        db.session.commit()
    fold = recorded and can_fold
    if recorded:
        run.count(outcome.status)
        _log(message, outcome)
    if outcome.closed_circuit:
        run.count("woken", outbox.wake_pending())
    if fold or not run.going():
        return following
    return _next(run, gate)


@contextmanager
def _one_connection() -> Iterator[Connection]:
    """The slot's database connection for the whole run, under its session too.

    The one-statement path commits on the connection itself: going through
    the ORM session (its transaction bookkeeping, and a connection taken
    from the pool and given back around every commit) cost more worker CPU
    per message than the statement. Still one connection per slot.
    """
    with db.engine.connect() as connection:
        # A plain Session: Flask-SQLAlchemy's picks the engine whatever it is bound to.
        db.session.registry.set(Session(bind=connection))  # type: ignore[arg-type]
        try:
            yield connection
        finally:
            db.session.remove()


def _slot(app: Flask, run: _Run) -> None:
    """One send slot: its own app context, database connection (and the
    session on it) and backend connection."""
    with app.app_context(), _one_connection() as connection:
        gate = Gate(run.settings.email_backend, run.settings.email_rate_limit_per_second)
        try:
            with backend_for(run.settings) as backend:
                message = _next(run, gate) if run.going() else None
                while message is not None:
                    try:
                        outcome = _attempt(message, backend, run, gate)
                    except BaseException:
                        # The message in flight keeps its claim until it
                        # expires (it may have gone out); nothing else is held.
                        db.session.rollback()
                        raise
                    if outcome is None:
                        message = _next(run, gate) if run.going() else None
                        continue
                    message = _finish(message, outcome, backend, run, gate, connection)
        finally:
            db.session.remove()


def _run_slots(run: _Run, slots: int) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if slots == 1:
        _slot(app, run)
        return
    with ThreadPoolExecutor(slots, thread_name_prefix="email-send") as pool:
        futures = [pool.submit(_slot, app, run) for _ in range(slots)]
        errors = [f.exception() for f in futures]
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first


def deliver_due(status: str, slots: int | None = None) -> dict[str, int]:
    """Send what is due in `status` (queued or pending); returns a tally."""
    settings = current_app.config["SETTINGS"]
    run = _Run(new_instance_id(), status, settings, time.monotonic() + RUN_BUDGET_SECONDS)
    db.session.commit()  # the slots use their own sessions; hold nothing here
    if not breaker.would_allow(CIRCUIT):  # open: claim nothing, spend nothing
        return {"circuit_open": 1}
    _run_slots(run, slots or settings.email_concurrency)
    return dict(run.tally)


def dispatch_queued() -> dict[str, int]:
    """The `email-dispatch` job: send queued mail (in every worker process)."""
    return deliver_due(QUEUED)


def retry_pending() -> dict[str, int]:
    """The `email-dlq` job: retry dead letters whose backoff has passed."""
    return deliver_due(PENDING)
