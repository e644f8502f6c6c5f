"""Fleet-wide counters (shards) and per-dyno HTTP snapshots, on both backends."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jobs.retention import prune_all
from service.extensions import db
from service.observability import fleet, fleet_counters, fleet_http
from service.observability.models import CounterShard, MetricsSnapshot
from service.timeutil import utcnow
from service.webhooks import metrics as webhook_metrics
from tests.helpers import sample_value

FAMILIES = {"things_total": ("Things.", ("kind",))}
A = (("kind", "a"),)
B = (("kind", "b"),)


def _values(counters: fleet_counters.ShardedCounters) -> dict[tuple, float]:
    return {
        tuple(s.labels.values()): s.value
        for family in counters.metric_families({"things_total": (("a",), ("c",))})
        for s in family.samples
    }


def test_shards_are_summed_and_folding_keeps_the_sum(app):
    counters = fleet_counters.ShardedCounters(FAMILIES, register=False)
    with app.app_context():
        for shard, adds in (("web.1:10", [A, A, B]), ("web.2:20", [A])):
            for labels in adds:
                counters.add("things_total", labels)
            counters.flush(shard)
        assert counters.flush("web.1:10") == 0  # nothing buffered: no write
        assert _values(counters) == {("a",): 3, ("b",): 1, ("c",): 0}  # c primed at 0

        # Retention folds shards idle for a while into the base row.
        db.session.execute(db.update(CounterShard).values(updated_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        counters.add("things_total", A)
        counters.flush("web.1:10")  # still live: a new shard row after the fold
        assert fleet_counters.fold_idle() == 2  # web.1's `a` row was just written: kept
        db.session.commit()
        assert _values(counters) == {("a",): 4, ("b",): 1, ("c",): 0}
        shards = set(db.session.scalars(select(CounterShard.shard)))
        assert shards == {"", "web.1:10"}


def test_a_failed_flush_keeps_the_counts(app, monkeypatch):
    counters = fleet_counters.ShardedCounters(FAMILIES, register=False)
    counters.add("things_total", A, 2)
    with app.app_context():
        monkeypatch.setattr(db.session, "commit", lambda: (_ for _ in ()).throw(OSError("down")))
        with pytest.raises(OSError):
            counters.flush("web.1:10")
        monkeypatch.undo()
        assert counters.pending() == {("things_total", A): 2}
        counters.flush("web.1:10")
        assert _values(counters)[("a",)] == 2


def test_every_scrape_reports_the_webhook_sums_of_all_processes(app, client):
    with app.app_context():
        # Another process's shard, already in the database.
        db.session.add(
            CounterShard(
                name="webhook_events_total",
                labels='{"result":"rejected"}',
                shard="web.9:1",
                value=5,
            )
        )
        db.session.commit()
    webhook_metrics.COUNTERS._take()  # no other test's counts
    webhook_metrics.count("rejected", "invalid_signature")  # this process, buffered
    text = client.get("/metrics").get_data(as_text=True)
    assert sample_value(text, "webhook_events_total", result="rejected") == 6
    assert sample_value(text, "webhook_errors_total", type="invalid_signature") == 1
    assert sample_value(text, "webhook_events_total", result="processed") == 0  # primed


def _snapshot(count: float) -> fleet_http.Snapshot:
    labels = {"method": "GET", "path": "/a", "status_class": "2xx"}
    return {"http_request_latency_seconds": [["http_request_latency_seconds_count", labels, count]]}


def _stored_count(dyno: str) -> float:
    samples = fleet_http.stored()[dyno]["http_request_latency_seconds"]
    return sum(value for _, _, value in samples)


def test_a_snapshot_never_goes_back_and_boots_add_up(app):
    with app.app_context():
        fleet_http.publish("web.1", "boot-1", 200, _snapshot(10))
        fleet_http.publish("web.1", "boot-1", 100, _snapshot(7))  # an older read: ignored
        assert _stored_count("web.1") == 10
        fleet_http.publish("web.1", "boot-2", 300, _snapshot(1))  # restarted master: from 0
        fleet_http.publish("web.2", "boot-x", 300, _snapshot(4))
        assert (_stored_count("web.1"), _stored_count("web.2")) == (11, 4)

        # A dead generation folds into the dyno's base row; the sum stays.
        db.session.execute(
            db.update(MetricsSnapshot)
            .where(MetricsSnapshot.boot == "boot-1")
            .values(updated_at=utcnow() - timedelta(days=1))
        )
        db.session.commit()
        pruned = prune_all(30)
        assert pruned["metric_boots_folded"] == 1
        assert _stored_count("web.1") == 11
        fleet_http.publish("web.1", "boot-2", 400, _snapshot(2))
        assert _stored_count("web.1") == 12
        assert db.session.scalar(select(func.count()).select_from(MetricsSnapshot)) == 3


def test_http_families_carry_the_dyno_label(make_app):
    client = make_app(DYNO="web.7").test_client()
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert (
        sample_value(
            text,
            "http_request_latency_seconds_count",
            method="GET",
            path="/healthz",
            status_class="2xx",
            dyno="web.7",
        )
        or 0
    ) >= 1
    assert "# TYPE http_5xx_total counter" in text or "# TYPE http_5xx counter" in text


def test_one_worker_per_master_publishes_and_the_next_takes_over(app, tmp_path, monkeypatch):
    """All workers of a master read the same files: one of them publishes them
    periodically, and when it dies (its descriptor closes) another takes over."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    first, second = fleet.Ticker(app), fleet.Ticker(app)
    assert first.is_publisher() and first.is_publisher()
    assert not second.is_publisher()
    os.close(first.publisher_fd)  # what the kernel does when the holder dies
    assert second.is_publisher()


def test_a_slow_publish_spaces_out_the_next_one(app):
    ticker = fleet.Ticker(app)
    ticker.publish_seconds = 0.01
    assert ticker.publish_pause() == fleet_http.PUBLISH_INTERVAL_SECONDS
    ticker.publish_seconds = 0.5  # a large label set: at most 5% of the time publishing
    assert ticker.publish_pause() == pytest.approx(0.5 / fleet.PUBLISH_CPU_SHARE)
