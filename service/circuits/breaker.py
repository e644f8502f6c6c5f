"""closed -> open after N consecutive failures -> half-open after S seconds
(one trial call at a time across all processes) -> closed on success, open
again on failure.

A small state machine of our own rather than pybreaker: pybreaker keeps its
state per process (or in Redis), and here the state must live in the shared
SQL database so every web and worker process reports and obeys the same
breaker. Taking the half-open trial is one conditional UPDATE, so two
processes racing for it cannot both win; a failure is a read-modify-write
under a row lock (SQLite: the database write lock).

Every function that may write (allow, check, record_*, reset, get) runs in
its own short transaction on its own connection and never touches the
caller's session: a breaker's state must be written even when the caller's
unit of work rolls back, which is when it matters most. On SQLite, where
every transaction takes the database write lock, call them between units of
work: a caller holding its own transaction open would wait on itself until
the busy timeout. `all_circuits` only reads, in the caller's session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Connection, and_, or_, select, update

from ..db import conflict_insert
from ..errors import ApiError
from ..extensions import db
from ..redaction import error_text
from ..timeutil import isoformat, utcnow
from .models import CLOSED, HALF_OPEN, OPEN, STATE_VALUES, Circuit

CIRCUITS = ("email", "stripe")
_table = Circuit.__table__


class CircuitOpenError(Exception):
    """The breaker is open: the call was not attempted."""

    reason = "circuit_open"

    def __init__(self, name: str) -> None:
        super().__init__(f"circuit {name!r} is open")
        self.circuit = name


class UnknownCircuitError(KeyError):
    """Only the circuits in CIRCUITS exist; anything else is a caller's typo."""


@dataclass(frozen=True)
class CircuitView:
    """A breaker's row as read, detached from any session."""

    name: str
    state: str = CLOSED
    consecutive_failures: int = 0
    opened_at: datetime | None = None
    trial_started_at: datetime | None = None
    last_error: str | None = None
    updated_at: datetime | None = None

    @property
    def value(self) -> int:
        return STATE_VALUES[self.state]


def _reset_after() -> timedelta:
    return timedelta(seconds=current_app.config["SETTINGS"].circuit_reset_seconds)


@contextmanager
def _transaction(name: str) -> Iterator[Connection]:
    if name not in CIRCUITS:
        raise UnknownCircuitError(name)
    with db.engine.begin() as conn:
        yield conn


def _read(conn: Connection, name: str, for_update: bool = False) -> CircuitView:
    """The breaker's row, created closed the first time it is asked for."""
    query = select(_table).where(_table.c.name == name)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).mappings().one_or_none()
    if row is None:
        conn.execute(
            conflict_insert(_table, bind=conn)
            .values(name=name, state=CLOSED, consecutive_failures=0, updated_at=utcnow())
            .on_conflict_do_nothing()
        )
        row = conn.execute(query).mappings().one()
    return CircuitView(**row)


def get(name: str) -> CircuitView:
    with _transaction(name) as conn:
        return _read(conn, name)


def _trial_due(now: datetime) -> Any:
    due = now - _reset_after()
    # Open long enough, or a half-open trial that never reported back (its
    # process died): one caller gets to try.
    return or_(
        and_(_table.c.state == OPEN, _table.c.opened_at <= due),
        and_(
            _table.c.state == HALF_OPEN,
            or_(_table.c.trial_started_at.is_(None), _table.c.trial_started_at <= due),
        ),
    )


def would_allow(name: str) -> bool:
    """Would `allow` say yes now? Read-only: takes no trial slot."""
    view = get(name)
    if view.state == CLOSED:
        return True
    due = utcnow() - _reset_after()
    since = view.opened_at if view.state == OPEN else view.trial_started_at
    return since is None or since <= due


def allow(name: str) -> bool:
    """May a call go through now? Takes the half-open trial slot if it is free."""
    now = utcnow()
    with _transaction(name) as conn:
        if _read(conn, name).state == CLOSED:
            return True
        took_trial = conn.execute(
            update(_table)
            .where(_table.c.name == name, _trial_due(now))
            .values(state=HALF_OPEN, trial_started_at=now, updated_at=now)
        ).rowcount
    return bool(took_trial)


def check(name: str) -> None:
    if not allow(name):
        raise CircuitOpenError(name)


def record_success(name: str) -> bool:
    """Close the breaker; True if this closed it (it was open or half-open)."""
    with _transaction(name) as conn:
        # The common case (closed, no failures) matches nothing and writes nothing.
        closed_it = _close(conn, name, _table.c.state != CLOSED)
        _close(conn, name, _table.c.consecutive_failures != 0)
    return closed_it


def record_failure(name: str, error: str | None = None) -> str:
    """Count a failure; returns the state after it."""
    now = utcnow()
    threshold = current_app.config["SETTINGS"].circuit_failure_threshold
    with _transaction(name) as conn:
        was = _read(conn, name, for_update=True)
        failures = was.consecutive_failures + 1
        values: dict[str, Any] = {
            "consecutive_failures": failures,
            "last_error": error_text(error) if error else None,
            "updated_at": now,
        }
        # A failed trial re-opens; so does the Nth failure in a row. A failure
        # while already open (a call that started before it opened) changes
        # nothing but the count: it must not push the next trial back.
        opens = was.state == HALF_OPEN or (was.state == CLOSED and failures >= threshold)
        if opens:
            values.update(state=OPEN, opened_at=now, trial_started_at=None)
        conn.execute(update(_table).where(_table.c.name == name).values(**values))
    return OPEN if opens else was.state


def _close(conn: Connection, name: str, *conditions: Any) -> bool:
    closed = conn.execute(
        update(_table)
        .where(_table.c.name == name, *conditions)
        .values(
            state=CLOSED,
            consecutive_failures=0,
            opened_at=None,
            trial_started_at=None,
            updated_at=utcnow(),
        )
    ).rowcount
    return bool(closed)


def reset(name: str) -> CircuitView:
    """Force a breaker closed (operator action)."""
    with _transaction(name) as conn:
        _read(conn, name)  # creates the row if it is missing
        _close(conn, name)
        return _read(conn, name)


def reset_known(name: str) -> CircuitView:
    """reset() for a name an operator gave (admin API, console): unknown is a 404."""
    if name not in CIRCUITS:
        raise ApiError(404, "unknown_circuit", f"No circuit named {name!r}.")
    return reset(name)


def all_circuits() -> list[CircuitView]:
    """Every known breaker (a missing row is closed). Read-only, in the
    caller's session: the metrics scrape calls it inside its own transaction."""
    rows = {row["name"]: row for row in db.session.execute(select(_table)).mappings()}
    return [CircuitView(**rows[name]) if name in rows else CircuitView(name) for name in CIRCUITS]


def describe(circuit: CircuitView) -> dict[str, Any]:
    retry_after = None
    if circuit.state == OPEN and circuit.opened_at is not None:
        retry_after = isoformat(circuit.opened_at + _reset_after())
    return {
        "name": circuit.name,
        "state": circuit.state,
        "value": circuit.value,
        "consecutive_failures": circuit.consecutive_failures,
        "opened_at": isoformat(circuit.opened_at),
        "retry_after": retry_after,
        "trial_started_at": isoformat(circuit.trial_started_at),
        "last_error": circuit.last_error,
        "updated_at": isoformat(circuit.updated_at),
    }
