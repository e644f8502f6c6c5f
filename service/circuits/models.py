"""One row per breaker; every process reads and obeys the same state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UtcDateTime
from ..extensions import db

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATE_VALUES = {CLOSED: 0, OPEN: 1, HALF_OPEN: 2}  # circuit_state gauge values (docs/RUNBOOK.md)


class Circuit(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    __tablename__ = "circuit"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=CLOSED)
    consecutive_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Set while one process runs the half-open trial call; others wait.
    trial_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
