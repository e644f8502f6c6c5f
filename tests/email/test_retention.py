"""Retention prunes old delivered and skipped mail, never the dead-letter queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from jobs.retention import prune_all
from service.email.models import EmailAttempt, EmailMessage
from service.extensions import db
from service.timeutil import utcnow
from tests.email.helpers import attempt_rows, queue, statuses


def test_prunes_old_sent_mail_with_its_attempts(app):
    with app.app_context():
        old_sent, old_skipped, old_dead, old_pending, fresh = (
            queue(prefix=p)[0] for p in ("a", "b", "c", "d", "e")
        )
        month_ago = utcnow() - timedelta(days=31)
        for mid, status in [
            (old_sent, "delivered"),
            (old_skipped, "skipped"),
            (old_dead, "dead"),
            (old_pending, "pending"),
            (fresh, "delivered"),
        ]:
            db.session.execute(
                update(EmailMessage)
                .where(EmailMessage.id == mid)
                .values(status=status, updated_at=month_ago if mid != fresh else utcnow())
            )
            db.session.add(
                EmailAttempt(
                    message_id=mid,
                    number=1,
                    outcome=status,
                    started_at=month_ago,
                    duration_ms=1.0,
                    backend="smtp",
                )
            )
        db.session.commit()
        assert prune_all(30)["email"] == 2
        assert set(statuses()) == {old_dead, old_pending, fresh}
        assert attempt_rows() == 3  # the pruned messages' attempts went with them
