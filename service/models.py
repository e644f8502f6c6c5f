"""Imports every domain's models so metadata (and Alembic) sees all tables."""

from .billing.models import ChargeRefund, Customer, Invoice, Subscription
from .circuits.models import Circuit
from .email.models import EmailAttempt, EmailMessage, Suppression
from .jobstate.models import DurableCounter, JobRun, JobRunRequest, JobState, Lease
from .observability.models import CounterShard, MetricsSnapshot
from .webhooks.models import WebhookEvent

__all__ = [
    "ChargeRefund",
    "Circuit",
    "CounterShard",
    "Customer",
    "DurableCounter",
    "EmailAttempt",
    "EmailMessage",
    "Invoice",
    "JobRun",
    "JobRunRequest",
    "JobState",
    "Lease",
    "MetricsSnapshot",
    "Subscription",
    "Suppression",
    "WebhookEvent",
]
