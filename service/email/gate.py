"""The fleet-wide send gate: a rate cap and provider pauses shared through the database.

One `email_send_gate` row per backend holds `next_at`, the next free send
slot (unix seconds), and `paused_until`. A sender reserves the slot
max(now, next_at, paused_until) with one UPDATE ... RETURNING that moves
`next_at` one interval (1 / EMAIL_RATE_LIMIT_PER_SECOND) on, then sleeps
until its slot: however many processes and threads send, slots are one
interval apart, so the fleet never exceeds the cap (virtual scheduling, the
token bucket's burst-free form). Only conditional UPDATEs are used, so it
behaves the same on SQLite and PostgreSQL.

A provider that throttles (HTTP 429 with Retry-After, SMTP 421) pauses every
sender of that backend until `paused_until`; nothing is counted as failed.
Without a cap, senders read the pause at most once per PAUSE_READ_SECONDS
per thread, so an uncapped send costs no statement here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import func, select, update

from ..db import insert_if_absent
from ..extensions import db
from .models import SendGate

PAUSE_READ_SECONDS = 1.0


class Gate:
    """One thread's handle on the backend's gate row (uses that thread's session)."""

    def __init__(
        self, backend: str, rate: float | None, clock: Callable[[], float] = time.time
    ) -> None:
        self.backend = backend
        self.interval = 1.0 / rate if rate else None
        self.clock = clock
        self._paused_until = 0.0
        self._read_at = float("-inf")
        self._row_ready = False

    @property
    def limited(self) -> bool:
        return self.interval is not None

    def _ensure_row(self) -> None:
        if not self._row_ready:
            insert_if_absent(SendGate, backend=self.backend, next_at=0.0, paused_until=0.0)
            db.session.commit()
            self._row_ready = True

    def _read(self) -> tuple[float, float]:
        self._ensure_row()
        row = db.session.execute(
            select(SendGate.next_at, SendGate.paused_until).where(SendGate.backend == self.backend)
        ).one()
        self._paused_until, self._read_at = row.paused_until, time.monotonic()
        return row.next_at, row.paused_until

    def pause_left(self) -> float:
        """Seconds the provider asked every sender to wait (0: go). Reads the
        row at most once per PAUSE_READ_SECONDS."""
        if time.monotonic() - self._read_at >= PAUSE_READ_SECONDS:
            self._read()
            db.session.commit()
        return max(0.0, self._paused_until - self.clock())

    def reserve(self) -> float:
        """Reserve the next send slot; returns its time (unix seconds). Commits.

        One UPDATE ... RETURNING moves `next_at` past the slot it hands out,
        so concurrent senders queue on the row lock instead of retrying.
        """
        if self.interval is None:
            return self.clock() + self.pause_left()
        self._ensure_row()
        greatest = func.greatest if db.session.get_bind().dialect.name == "postgresql" else func.max
        taken = greatest(SendGate.next_at, SendGate.paused_until, self.clock())
        slot_end = db.session.execute(
            update(SendGate)
            .where(SendGate.backend == self.backend)
            .values(next_at=taken + self.interval)
            .returning(SendGate.next_at)
        ).scalar_one()
        db.session.commit()
        return float(slot_end) - self.interval

    def give_back(self, slot: float) -> None:
        """Return a slot nobody used (the queue was empty), unless a later one
        was reserved since. Commits."""
        if self.interval is None:
            return
        db.session.execute(
            update(SendGate)
            .where(SendGate.backend == self.backend, SendGate.next_at == slot + self.interval)
            .values(next_at=slot)
        )
        db.session.commit()

    def pause(self, seconds: float, reason: str) -> None:
        """The provider throttled us: every sender waits `seconds`. Commits."""
        self._ensure_row()
        until = self.clock() + seconds
        db.session.execute(
            update(SendGate)
            .where(SendGate.backend == self.backend, SendGate.paused_until < until)
            .values(paused_until=until, pause_reason=reason[:64])
        )
        db.session.commit()
        self._paused_until = max(self._paused_until, until)
