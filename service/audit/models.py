"""One row per operator action (replay, reprocess, job run, circuit reset...)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UtcDateTime
from ..extensions import db
from ..timeutil import utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


class AuditEntry(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    __tablename__ = "audit_entry"
    __table_args__ = (
        # Sign-in rate limit: recent failures of one client address.
        Index("ix_audit_entry_action_client_at", "action", "client_addr", "at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # api | console
    role: Mapped[str] = mapped_column(String(16), nullable=False)  # admin | readonly | loopback
    status: Mapped[int] = mapped_column(Integer, nullable=False)  # the HTTP status it got
    detail: Mapped[dict | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(128))
    client_addr: Mapped[str | None] = mapped_column(String(64))
