"""Durable counters: Prometheus counters whose values live in the database.

The worker's counts (emails sent, job errors) must survive its restarts and
reach Prometheus through the web tier, so each increment is an upsert in the
caller's transaction: the count commits or rolls back with the change it
counts. Labels are stored as canonical JSON.

No hot row: each increment lands on one of SHARDS rows of its label set,
picked at random, so concurrent transactions (every send slot of every
worker dyno counts its deliveries) rarely wait for each other's commit;
reads sum the shards. At most SHARDS rows per label set, so nothing needs
folding.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator, Mapping

from prometheus_client.core import CounterMetricFamily
from sqlalchemy import func, select

from ..db import conflict_insert, execute
from ..extensions import db
from .models import DurableCounter

SHARDS = 8

# name -> (help, label names). Each is always exposed, even before a first count.
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "job_errors_total": ("Job failures by job and short reason.", ("job", "reason")),
    "email_notifications_total": (
        "Email send attempts by template and outcome.",
        ("template", "status"),
    ),
    "email_skipped_total": (
        "Emails not sent, by reason: suppressed, expired, console.",
        ("reason",),
    ),
    "email_provider_events_total": (
        "Events the mail provider reported (SendGrid Event Webhook), by event.",
        ("event",),
    ),
}


def labels_key(labels: Mapping[str, str]) -> str:
    """Labels as stored: canonical JSON (for statements that write a counter themselves)."""
    return json.dumps(dict(sorted(labels.items())), separators=(",", ":"))


def shard() -> int:
    """The shard row an increment lands on."""
    return random.randrange(SHARDS)  # spreads writes; not a secret


def increment(name: str, labels: Mapping[str, str], amount: float = 1.0) -> None:
    """Add `amount` in the caller's transaction (the open `core_transaction`,
    else the session's; the caller commits)."""
    if name not in FAMILIES:
        raise KeyError(f"unknown durable counter {name!r}")
    # On the table, not the ORM entity: it runs once per email sent, and the
    # ORM's bulk-insert path costs more than the statement.
    table = DurableCounter.__table__
    stmt = conflict_insert(table).values(
        name=name, labels=labels_key(labels), shard=shard(), value=amount
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["name", "labels", "shard"],
        set_={"value": table.c.value + stmt.excluded.value},
    )
    execute(stmt)


def value(name: str, labels: Mapping[str, str]) -> float:
    total = db.session.execute(
        select(func.sum(DurableCounter.value)).where(
            DurableCounter.name == name, DurableCounter.labels == labels_key(labels)
        )
    ).scalar_one_or_none()
    return float(total or 0.0)


def metric_families() -> Iterator[CounterMetricFamily]:
    """Every durable counter family, for the scrape-time collector."""
    rows = db.session.execute(
        select(DurableCounter.name, DurableCounter.labels, func.sum(DurableCounter.value)).group_by(
            DurableCounter.name, DurableCounter.labels
        )
    )
    by_name: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for name, labels_json, amount in rows:
        by_name[name].append((json.loads(labels_json), amount))
    for name, (help_text, label_names) in FAMILIES.items():
        family = CounterMetricFamily(name.removesuffix("_total"), help_text, labels=label_names)
        for labels, amount in sorted(
            by_name.get(name, []), key=lambda item: sorted(item[0].items())
        ):
            family.add_metric([labels.get(label, "") for label in label_names], amount)
        yield family
