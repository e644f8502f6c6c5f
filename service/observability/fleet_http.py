"""HTTP metrics of every web instance, reported by every web instance.

Behind a router each scrape reaches a random instance. If each instance
reported only its own `http_*` counters, consecutive scrapes would jump
between instances' values and Prometheus would read every drop as a reset.
So each instance publishes its aggregated HTTP families (all its Gunicorn
workers, dead ones included) into the database, one row per (dyno, boot),
upserted at most every PUBLISH_INTERVAL_SECONDS by its metrics ticker and at
every scrape it answers, never per request. /metrics on any instance reports
every dyno's latest values under the `dyno` label:

- an upsert only replaces a row with a later read (`read_ns`): reads of one
  instance's files are serialised by the fold lock (multiproc.py) and
  counters only grow, so a row never goes backwards;
- `boot` is one Gunicorn master's life: a restarted master starts from zero
  in a new row while the old row keeps its last values, and the dyno's series
  is the sum of its rows, so it never goes backwards either;
- the retention job folds boots idle for FOLD_BOOTS_AFTER into the dyno's base
  row (boot ""); a live boot re-publishes at least every HEARTBEAT_SECONDS.

When the database cannot be read, a scrape reports this instance's own
values only (`metrics_database_up` is 0 then).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from prometheus_client import REGISTRY
from prometheus_client.core import Metric
from sqlalchemy import delete, select

from ..db import conflict_insert
from ..extensions import db
from ..timeutil import utcnow
from . import multiproc
from .models import MetricsSnapshot

FAMILIES = {
    "http_request_latency_seconds": (
        "histogram",
        "HTTP request latency by method, route template and status class.",
    ),
    "http_5xx": ("counter", "HTTP responses with a 5xx status, unhandled exceptions included."),
}
PUBLISH_INTERVAL_SECONDS = 2.0
HEARTBEAT_SECONDS = 60.0
FOLD_BOOTS_AFTER = timedelta(hours=6)
BASE_BOOT = ""

# {family: {"samples": [[sample name, {labels}, value], ...]}}
Snapshot = dict[str, Any]
_process_boot: dict[int, str] = {}
_registry_lock = threading.Lock()


def _encode(families: Iterable[Metric]) -> Snapshot:
    out: Snapshot = {}
    for family in families:
        if family.name not in FAMILIES:
            continue
        samples = [
            [s.name, dict(sorted(s.labels.items())), s.value]
            for s in family.samples
            if not s.name.endswith("_created")
        ]
        out[family.name] = sorted(samples, key=lambda s: (s[0], sorted(s[1].items())))
    return out


def local_snapshot() -> tuple[str, int, Snapshot]:
    """(boot, read time ns, HTTP families) of this instance: every Gunicorn
    worker's files, or this process's registry outside multiprocess mode."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        boot, read_ns, families = multiproc.collect(path)
        return boot, read_ns, _encode(families)
    with _registry_lock:
        boot = _process_boot.setdefault(os.getpid(), f"{os.getpid()}-{time.time_ns():x}")
        return boot, time.time_ns(), _encode(REGISTRY.collect())


def publish(dyno: str, boot: str, read_ns: int, snapshot: Snapshot) -> None:
    """Upsert this dyno's row unless a later read is already stored; commits."""
    stmt = conflict_insert(MetricsSnapshot).values(
        dyno=dyno,
        boot=boot,
        samples=json.dumps(snapshot, separators=(",", ":")),
        read_ns=read_ns,
        updated_at=utcnow(),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["dyno", "boot"],
        set_={
            "samples": stmt.excluded.samples,
            "read_ns": stmt.excluded.read_ns,
            "updated_at": stmt.excluded.updated_at,
        },
        where=MetricsSnapshot.read_ns < stmt.excluded.read_ns,
    )
    db.session.execute(stmt)
    db.session.commit()


def _add(into: dict[tuple[str, str, tuple], float], snapshot: Snapshot) -> None:
    for family, samples in snapshot.items():
        for name, labels, value in samples:
            into[(family, name, tuple(sorted(labels.items())))] += value


def stored() -> dict[str, Snapshot]:
    """dyno -> its snapshot, summed over its boots."""
    sums: dict[str, dict[tuple[str, str, tuple], float]] = defaultdict(lambda: defaultdict(float))
    for dyno, samples in db.session.execute(select(MetricsSnapshot.dyno, MetricsSnapshot.samples)):
        _add(sums[dyno], json.loads(samples))
    return {dyno: _decode(values) for dyno, values in sums.items()}


def _decode(values: dict[tuple[str, str, tuple], float]) -> Snapshot:
    out: Snapshot = defaultdict(list)
    for (family, name, labels), value in sorted(values.items()):
        out[family].append([name, dict(labels), value])
    return dict(out)


def render(by_dyno: dict[str, Snapshot]) -> Iterator[Metric]:
    """Both families, always, each sample with its dyno's `dyno` label."""
    for family, (kind, help_text) in FAMILIES.items():
        metric = Metric(family, help_text, kind)
        for dyno in sorted(by_dyno):
            for name, labels, value in by_dyno[dyno].get(family, ()):
                metric.add_sample(name, {**labels, "dyno": dyno}, value)
        yield metric


def metric_families() -> list[Metric]:
    """Scrape-time provider: publish this instance, then report every dyno."""
    dyno = current_app.config["SETTINGS"].dyno
    publish(dyno, *local_snapshot())
    return list(render(stored()))


def local_families() -> list[Metric]:
    """The fallback when the database cannot be read: this instance alone."""
    return list(render({current_app.config["SETTINGS"].dyno: local_snapshot()[2]}))


def fold_idle_boots(cutoff: datetime | None = None) -> int:
    """Add boots idle since `cutoff` into their dyno's base row (caller commits)."""
    cutoff = cutoff or utcnow() - FOLD_BOOTS_AFTER
    folded = db.session.execute(
        delete(MetricsSnapshot)
        .where(MetricsSnapshot.boot != BASE_BOOT, MetricsSnapshot.updated_at < cutoff)
        .returning(MetricsSnapshot.dyno, MetricsSnapshot.samples)
    ).all()
    by_dyno: dict[str, dict[tuple[str, str, tuple], float]] = defaultdict(
        lambda: defaultdict(float)
    )
    for dyno, samples in folded:
        _add(by_dyno[dyno], json.loads(samples))
    for dyno, values in by_dyno.items():
        base = db.session.get(MetricsSnapshot, (dyno, BASE_BOOT), with_for_update=True)
        if base is not None:
            _add(values, json.loads(base.samples))
        body = json.dumps(_decode(values), separators=(",", ":"))
        if base is None:
            db.session.add(MetricsSnapshot(dyno=dyno, boot=BASE_BOOT, samples=body, read_ns=0))
        else:
            base.samples, base.updated_at = body, utcnow()
    return len(folded)
