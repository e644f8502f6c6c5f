"""closed -> open after N consecutive failures -> half-open after S seconds
(one trial call at a time across all processes) -> closed on success, open
again on failure.

A small state machine of our own rather than pybreaker: pybreaker keeps its
state per process (or in Redis), and here the state must live in the shared
SQL database so every web and worker process reports and obeys the same
breaker. Transitions are conditional UPDATEs, so two processes racing for
the half-open trial cannot both win.

Each function commits its own work: call them between units of work, not
inside one (on SQLite an open transaction holds the write lock).
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..observability.logging import redact
from ..timeutil import as_utc, utcnow
from .models import CLOSED, HALF_OPEN, OPEN, Circuit

CIRCUITS = ("email", "stripe")


class CircuitOpenError(Exception):
    """The breaker is open: the call was not attempted."""

    reason = "circuit_open"

    def __init__(self, name: str) -> None:
        super().__init__(f"circuit {name!r} is open")
        self.circuit = name


def _settings():
    return current_app.config["SETTINGS"]


def _ensure(name: str) -> None:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(Circuit)
        .values(name=name, state=CLOSED, consecutive_failures=0, updated_at=utcnow())
        .on_conflict_do_nothing()
    )


def get(name: str) -> Circuit:
    _ensure(name)
    circuit = db.session.get(Circuit, name, populate_existing=True)
    db.session.commit()
    return circuit


def allow(name: str) -> bool:
    """May a call go through now? Takes the half-open trial slot if it is free."""
    _ensure(name)
    now = utcnow()
    reset_after = timedelta(seconds=_settings().circuit_reset_seconds)
    circuit = db.session.get(Circuit, name, populate_existing=True)
    if circuit.state == CLOSED:
        db.session.commit()
        return True
    # Open long enough, or a half-open trial that never reported back (its
    # process died): one caller gets to try.
    took_trial = db.session.execute(
        update(Circuit)
        .where(Circuit.name == name)
        .where(
            or_(
                and_(Circuit.state == OPEN, Circuit.opened_at <= now - reset_after),
                and_(Circuit.state == HALF_OPEN, Circuit.trial_started_at <= now - reset_after),
            )
        )
        .values(state=HALF_OPEN, trial_started_at=now, updated_at=now)
    ).rowcount
    db.session.commit()
    return bool(took_trial)


def check(name: str) -> None:
    if not allow(name):
        raise CircuitOpenError(name)


def record_success(name: str) -> None:
    _ensure(name)
    db.session.execute(
        update(Circuit)
        .where(Circuit.name == name)
        .where(or_(Circuit.state != CLOSED, Circuit.consecutive_failures != 0))
        .values(
            state=CLOSED,
            consecutive_failures=0,
            opened_at=None,
            trial_started_at=None,
            updated_at=utcnow(),
        )
    )
    db.session.commit()


def record_failure(name: str, error: str | None = None) -> str:
    """Count a failure; returns the state after it."""
    _ensure(name)
    now = utcnow()
    circuit = db.session.get(Circuit, name, populate_existing=True, with_for_update=True)
    circuit.consecutive_failures += 1
    circuit.last_error = redact(error)[:300] if error else None
    circuit.updated_at = now
    if circuit.state == HALF_OPEN or (
        circuit.state == CLOSED
        and circuit.consecutive_failures >= _settings().circuit_failure_threshold
    ):
        circuit.state, circuit.opened_at, circuit.trial_started_at = OPEN, now, None
    state = circuit.state
    db.session.commit()
    return state


def reset(name: str) -> Circuit:
    """Force a breaker closed (operator action)."""
    _ensure(name)
    db.session.execute(
        update(Circuit)
        .where(Circuit.name == name)
        .values(
            state=CLOSED,
            consecutive_failures=0,
            opened_at=None,
            trial_started_at=None,
            updated_at=utcnow(),
        )
    )
    db.session.commit()
    return get(name)


def all_circuits() -> list[Circuit]:
    for name in CIRCUITS:
        _ensure(name)
    rows = list(db.session.scalars(select(Circuit).order_by(Circuit.name)))
    db.session.commit()
    return rows


def describe(circuit: Circuit) -> dict:
    from ..timeutil import isoformat

    return {
        "name": circuit.name,
        "state": circuit.state,
        "consecutive_failures": circuit.consecutive_failures,
        "opened_at": isoformat(circuit.opened_at),
        "last_error": circuit.last_error,
        "retry_after": isoformat(
            as_utc(circuit.opened_at) + timedelta(seconds=_settings().circuit_reset_seconds)
            if circuit.state == OPEN and circuit.opened_at
            else None
        ),
    }
