"""Pruning of the audit trail past its own retention age (AUDIT_RETENTION_DAYS)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from ..db import rows_changed
from .models import AuditEntry


def prune_audit(cutoff: datetime) -> int:
    """Delete audit entries recorded before `cutoff` (caller commits)."""
    return rows_changed(delete(AuditEntry).where(AuditEntry.at < cutoff))
