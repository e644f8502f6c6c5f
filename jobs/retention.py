"""The `retention` job assembled from each domain's own prune function.

Each domain knows what of its history may go (and what must stay: dead
letters, failed webhook events); the job only picks the cutoff, calls each
one and commits once. Assembling it here, in the worker, keeps the domains
from importing one another for it.
"""

from __future__ import annotations

from datetime import timedelta

from service.audit.retention import prune_audit
from service.email.outbox import prune_sent
from service.extensions import db
from service.jobstate.history import prune_job_history
from service.observability.fleet_counters import fold_idle
from service.observability.fleet_http import fold_idle_boots
from service.timeutil import utcnow
from service.webhooks.retention import prune_webhook_events


def prune_all(retention_days: int, audit_retention_days: int = 365) -> dict[str, int]:
    """Delete what is older than the retention age, domain by domain; one commit.
    The audit trail has an age of its own (AUDIT_RETENTION_DAYS): it answers
    "who did that" long after the events it touched are gone."""
    cutoff = utcnow() - timedelta(days=retention_days)
    pruned = {
        "job_history": prune_job_history(cutoff),
        "email": prune_sent(cutoff),
        "webhook_events": prune_webhook_events(cutoff),
        "audit": prune_audit(utcnow() - timedelta(days=audit_retention_days)),
        # Not pruning: folding idle shards and dead generations keeps scrapes cheap.
        "counter_shards_folded": fold_idle(),
        "metric_boots_folded": fold_idle_boots(),
    }
    db.session.commit()
    return pruned
