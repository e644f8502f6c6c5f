"""Durable counters: shard rows per label set, summed wherever they are read."""

from __future__ import annotations

from sqlalchemy import func, select

from service.extensions import db
from service.jobstate import counters
from service.jobstate.models import DurableCounter

LABELS = {"template": "receipt", "status": "delivered"}


def _family(name: str) -> dict[tuple[str, ...], float]:
    for family in counters.metric_families():
        if family.name == name.removesuffix("_total"):
            return {tuple(s.labels.values()): s.value for s in family.samples}
    raise AssertionError(name)


def test_increments_spread_over_shards_and_every_read_sums_them(app):
    with app.app_context():
        for _ in range(200):
            counters.increment("email_notifications_total", LABELS)
        counters.increment("email_notifications_total", {**LABELS, "status": "failed"}, 2)
        db.session.commit()
        rows = db.session.scalar(
            select(func.count())
            .select_from(DurableCounter)
            .where(DurableCounter.labels == counters.labels_key(LABELS))
        )
        # Not one hot row; never more than SHARDS rows for a label set.
        assert 1 < rows <= counters.SHARDS
        assert counters.value("email_notifications_total", LABELS) == 200
        family = _family("email_notifications_total")
        assert family[("receipt", "delivered")] == 200
        assert family[("receipt", "failed")] == 2


def test_a_rolled_back_increment_counts_nothing(app):
    with app.app_context():
        counters.increment("email_notifications_total", LABELS)
        db.session.commit()
        counters.increment("email_notifications_total", LABELS)
        db.session.rollback()
        assert counters.value("email_notifications_total", LABELS) == 1
