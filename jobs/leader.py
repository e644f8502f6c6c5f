"""Leader lease: one row, an expiry, and a fencing token that grows on takeover.

Only conditional UPDATEs are used, so it works the same on SQLite and
PostgreSQL and does not depend on a session-level advisory lock surviving a
pooled connection. A leader that stops renewing (SIGKILL, a wedged process)
loses the lease when it expires; the next worker to look takes it with
token + 1, and every run records the token it ran under.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from sqlalchemy import or_, update

from service.db import insert_if_absent, rows_changed
from service.extensions import db
from service.ids import new_instance_id
from service.jobstate.catalogue import LEADER_LEASE
from service.jobstate.models import Lease
from service.timeutil import utcnow


class Leadership:
    def __init__(self, lease_seconds: float, holder: str | None = None) -> None:
        self.lease_seconds = lease_seconds
        self.holder = holder or new_instance_id()
        self.token: int | None = None

    def _ensure_row(self) -> None:
        insert_if_absent(Lease, name=LEADER_LEASE, token=0)

    def refresh(self) -> bool:
        """Renew the lease if held, else take it if free or expired."""
        now = utcnow()
        expires = now + timedelta(seconds=self.lease_seconds)
        self._ensure_row()
        if self.token is not None:
            renewed = rows_changed(
                update(Lease)
                .where(
                    Lease.name == LEADER_LEASE,
                    Lease.holder == self.holder,
                    Lease.token == self.token,
                )
                .values(renewed_at=now, expires_at=expires)
            )
            if renewed:
                db.session.commit()
                return True
            self.token = None  # someone took over while we were away
        taken = rows_changed(
            update(Lease)
            .where(Lease.name == LEADER_LEASE)
            .where(or_(Lease.holder.is_(None), Lease.expires_at < now))
            .values(
                holder=self.holder,
                host=socket.gethostname(),
                pid=os.getpid(),
                token=Lease.token + 1,
                acquired_at=now,
                renewed_at=now,
                expires_at=expires,
            )
        )
        if taken:
            self.token = db.session.get_one(Lease, LEADER_LEASE, populate_existing=True).token
        db.session.commit()
        return self.token is not None

    def holds(self) -> bool:
        """Check in the database (not memory) that our lease is still valid."""
        if self.token is None:
            return False
        lease = db.session.get(Lease, LEADER_LEASE, populate_existing=True)
        db.session.commit()
        return (
            lease is not None
            and lease.holder == self.holder
            and lease.token == self.token
            and lease.expires_at is not None
            and lease.expires_at > utcnow()
        )

    def release(self) -> None:
        if self.token is None:
            return
        db.session.execute(
            update(Lease)
            .where(
                Lease.name == LEADER_LEASE, Lease.holder == self.holder, Lease.token == self.token
            )
            .values(holder=None, expires_at=utcnow())
        )
        db.session.commit()
        self.token = None
