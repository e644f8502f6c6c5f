"""Fleet-wide counters for the web tier, buffered in memory, sharded in the database.

A counter such as `webhook_events_total` must read the same on every web
instance and survive restarts, recycling and SIGKILL, so its value lives in
the database. Writing on every request would turn a flood of bad signatures
into a flood of writes, and one row per label set would serialise concurrent
requests on it. So each process adds counts to an in-memory buffer (a lock
and a dict update, well under a microsecond) and flushes the buffer into its
own shard row (`<dyno>:<pid>`) with one multi-row upsert:

- every FLUSH_INTERVAL_SECONDS (1 s) from the process's metrics ticker
  (service/observability/fleet.py, started by Gunicorn's `post_worker_init`);
- when this process answers a scrape, before the shards are read;
- when the worker exits (Gunicorn's `worker_exit`, and `atexit`).

A SIGKILLed worker loses what it counted since its last flush: at most the
last second of its own counts. A scrape sums the shards of each label set in
one statement; the retention job folds shards idle for FOLD_AFTER into the
base row (shard ""), in one transaction, so the sum never moves.
"""

from __future__ import annotations

import json
import os
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta

from prometheus_client.core import CounterMetricFamily
from sqlalchemy import delete, func, select

from ..db import conflict_insert
from ..extensions import db
from ..timeutil import utcnow
from .models import CounterShard

FLUSH_INTERVAL_SECONDS = 1.0
FOLD_AFTER = timedelta(minutes=10)
BASE_SHARD = ""

LabelKey = tuple[tuple[str, str], ...]


def _labels_json(labels: LabelKey) -> str:
    return json.dumps(dict(sorted(labels)), separators=(",", ":"))


class ShardedCounters:
    """A set of counter families: `add` buffers, `flush` writes, `families` reads."""

    def __init__(
        self, families: Mapping[str, tuple[str, tuple[str, ...]]], register: bool = True
    ) -> None:
        self.families = dict(families)  # name -> (help, label names)
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, LabelKey], float] = {}
        if register:  # flushed by the ticker, at scrape and at exit
            REGISTERED.append(self)

    def add(self, name: str, labels: LabelKey, amount: float = 1.0) -> None:
        key = (name, labels)
        with self._lock:
            self._pending[key] = self._pending.get(key, 0.0) + amount

    def pending(self) -> dict[tuple[str, LabelKey], float]:
        with self._lock:
            return dict(self._pending)

    def _take(self) -> dict[tuple[str, LabelKey], float]:
        with self._lock:
            taken, self._pending = self._pending, {}
        return taken

    def _give_back(self, taken: dict[tuple[str, LabelKey], float]) -> None:
        with self._lock:
            for key, amount in taken.items():
                self._pending[key] = self._pending.get(key, 0.0) + amount

    def flush(self, shard: str) -> int:
        """Write the buffer into `shard` and commit; on failure the counts stay
        buffered for the next flush. Returns the label sets written."""
        taken = self._take()
        if not taken:
            return 0
        now = utcnow()
        rows = [
            {"name": n, "labels": _labels_json(lk), "shard": shard, "value": v, "updated_at": now}
            for (n, lk), v in sorted(taken.items())  # one order: no lock-order deadlocks
        ]
        try:
            stmt = conflict_insert(CounterShard).values(rows)
            stmt = stmt.on_conflict_do_update(
                index_elements=["name", "labels", "shard"],
                set_={
                    "value": CounterShard.value + stmt.excluded.value,
                    "updated_at": stmt.excluded.updated_at,
                },
            )
            db.session.execute(stmt)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            self._give_back(taken)
            raise
        return len(rows)

    def totals(self) -> dict[str, dict[str, float]]:
        """name -> {labels json: sum over shards}, read in one statement."""
        rows = db.session.execute(
            select(CounterShard.name, CounterShard.labels, func.sum(CounterShard.value))
            .where(CounterShard.name.in_(self.families))
            .group_by(CounterShard.name, CounterShard.labels)
        )
        out: dict[str, dict[str, float]] = defaultdict(dict)
        for name, labels, total in rows:
            out[name][labels] = float(total or 0.0)
        return out

    def metric_families(
        self, primed: Mapping[str, tuple[tuple[str, ...], ...]] | None = None
    ) -> Iterator[CounterMetricFamily]:
        """Every family, with the `primed` label values present even at 0."""
        totals = self.totals()
        for name, (help_text, label_names) in self.families.items():
            values: dict[tuple[str, ...], float] = {v: 0.0 for v in (primed or {}).get(name, ())}
            for labels, total in totals.get(name, {}).items():
                parsed = json.loads(labels)
                key = tuple(parsed.get(label, "") for label in label_names)
                values[key] = values.get(key, 0.0) + total
            family = CounterMetricFamily(name.removesuffix("_total"), help_text, labels=label_names)
            for key in sorted(values):
                family.add_metric(list(key), values[key])
            yield family


REGISTERED: list[ShardedCounters] = []


def shard_name(dyno: str) -> str:
    return f"{dyno}:{os.getpid()}"


def flush_all(dyno: str) -> int:
    return sum(counters.flush(shard_name(dyno)) for counters in REGISTERED)


def fold_idle(cutoff: datetime | None = None) -> int:
    """Move shards not written since `cutoff` into the base rows (caller commits).

    A process that writes again after its shard was folded simply starts a
    new shard row: additions commute, so the sum is the same either way.
    """
    cutoff = cutoff or utcnow() - FOLD_AFTER
    folded = db.session.execute(
        delete(CounterShard)
        .where(CounterShard.shard != BASE_SHARD, CounterShard.updated_at < cutoff)
        .returning(CounterShard.name, CounterShard.labels, CounterShard.value)
    ).all()
    sums: dict[tuple[str, str], float] = defaultdict(float)
    for name, labels, value in folded:
        sums[(name, labels)] += value
    if sums:
        now = utcnow()
        rows = [
            {"name": n, "labels": lb, "shard": BASE_SHARD, "value": v, "updated_at": now}
            for (n, lb), v in sorted(sums.items())
        ]
        stmt = conflict_insert(CounterShard).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name", "labels", "shard"],
            set_={"value": CounterShard.value + stmt.excluded.value},
        )
        db.session.execute(stmt)
    return len(folded)
