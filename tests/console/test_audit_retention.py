"""The audit trail outlives RETENTION_DAYS and goes after AUDIT_RETENTION_DAYS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from jobs.retention import prune_all
from service.audit.models import AuditEntry
from service.config import ConfigError, load_settings
from service.extensions import db
from service.timeutil import utcnow


def _entry(age_days: float, target: str) -> AuditEntry:
    return AuditEntry(
        at=utcnow() - timedelta(days=age_days),
        action="dlq.replay",
        target=target,
        source="api",
        role="admin",
        status=200,
    )


def test_audit_entries_stay_past_the_history_retention_and_go_after_their_own(app):
    with app.app_context():
        db.session.add_all([_entry(400, "old"), _entry(200, "kept"), _entry(0, "new")])
        db.session.commit()
        assert prune_all(30)["audit"] == 1  # default AUDIT_RETENTION_DAYS: 365
        assert sorted(db.session.scalars(select(AuditEntry.target))) == ["kept", "new"]
        assert prune_all(30, audit_retention_days=100)["audit"] == 1
        assert list(db.session.scalars(select(AuditEntry.target))) == ["new"]


def test_the_retention_job_uses_the_setting(make_app):
    from jobs.tasks import retention

    app = make_app(AUDIT_RETENTION_DAYS="10")
    with app.app_context():
        db.session.add_all([_entry(11, "old"), _entry(9, "kept")])
        db.session.commit()
        retention()
        assert list(db.session.scalars(select(AuditEntry.target))) == ["kept"]


def test_audit_retention_days_must_be_positive():
    with pytest.raises(ConfigError, match="AUDIT_RETENTION_DAYS"):
        load_settings({"AUDIT_RETENTION_DAYS": "0"})
