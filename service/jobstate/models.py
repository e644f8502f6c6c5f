"""Job bookkeeping tables shared by the worker (writes) and web tier (reads)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Float,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UtcDateTime
from ..extensions import db
from ..timeutil import utcnow


class JobState(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    """One row per job: the latest of everything the runbook asks about."""

    __tablename__ = "job_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_heartbeat: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_duration_seconds: Mapped[float | None] = mapped_column(Float)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_error_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ttl_seconds: Mapped[float | None] = mapped_column(Float)
    runner: Mapped[str | None] = mapped_column(String(200))


class JobRun(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    """History of runs: who ran what when, under which fencing token."""

    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_job_started", "job", "started_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job: Mapped[str] = mapped_column(String(64), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    error_reason: Mapped[str | None] = mapped_column(String(100))
    runner: Mapped[str | None] = mapped_column(String(200))
    fencing_token: Mapped[int | None] = mapped_column(BigInteger)
    trigger: Mapped[str] = mapped_column(String(16), nullable=False, default="schedule")


class JobRunRequest(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    """'Run this job now', from the admin API; the leader picks it up."""

    __tablename__ = "job_run_request"
    __table_args__ = (Index("ix_job_run_request_pending", "claimed_at", "requested_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job: Mapped[str] = mapped_column(String(64), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))


class Lease(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    """Leader lease: holder, expiry, and a fencing token that grows per takeover."""

    __tablename__ = "lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    host: Mapped[str | None] = mapped_column(String(200))
    pid: Mapped[int | None] = mapped_column(Integer)
    token: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    acquired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    renewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DurableCounter(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    """A Prometheus counter kept in the database, incremented in the same
    transaction as the change it counts, so it survives process restarts.
    A label set's value is the sum of its shard rows (service/jobstate/counters.py)."""

    __tablename__ = "durable_counter"
    __table_args__ = (
        UniqueConstraint("name", "labels", "shard", name="uq_durable_counter_name_labels_shard"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    labels: Mapped[str] = mapped_column(Text, nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    shard: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0, server_default="0")
