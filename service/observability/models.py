"""Tables that make per-process metrics fleet-wide (docs/ARCHITECTURE.md, "Metrics
across a fleet")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UtcDateTime
from ..extensions import db
from ..timeutil import utcnow


class CounterShard(db.Model):  # type: ignore[name-defined]
    """One process's share of a fleet-wide counter; the scrape sums the shards.

    Each web process adds to its own row (shard `<dyno>:<pid>`), so concurrent
    requests never queue on one hot row. The retention job folds shards idle
    for a while into the base row (shard ""), which keeps the table small.
    """

    __tablename__ = "counter_shard"
    __table_args__ = (
        UniqueConstraint("name", "labels", "shard", name="uq_counter_shard_name_labels_shard"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    labels: Mapped[str] = mapped_column(Text, nullable=False)
    shard: Mapped[str] = mapped_column(String(200), nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class MetricsSnapshot(db.Model):  # type: ignore[name-defined]
    """The latest HTTP metric values of one web instance (dyno) in one generation
    (`boot`: one Gunicorn master's life), as JSON. Every instance's /metrics
    reports every dyno's snapshots, each under its `dyno` label."""

    __tablename__ = "metrics_snapshot"

    dyno: Mapped[str] = mapped_column(String(200), primary_key=True)
    boot: Mapped[str] = mapped_column(String(100), primary_key=True)
    samples: Mapped[str] = mapped_column(Text, nullable=False)
    read_ns: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
