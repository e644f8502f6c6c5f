"""Imports every domain's models so metadata (and Alembic) sees all tables."""

from .audit.models import AuditEntry
from .billing.models import ChargeRefund, Customer, Invoice, Subscription
from .circuits.models import Circuit
from .email.models import EmailAttempt, EmailMessage, Suppression
from .jobstate.models import DurableCounter, JobRun, JobRunRequest, JobState, Lease
from .webhooks.models import WebhookEvent

__all__ = [
    "AuditEntry",
    "ChargeRefund",
    "Circuit",
    "Customer",
    "DurableCounter",
    "EmailAttempt",
    "EmailMessage",
    "Invoice",
    "JobRun",
    "JobRunRequest",
    "JobState",
    "Lease",
    "Subscription",
    "Suppression",
    "WebhookEvent",
]
