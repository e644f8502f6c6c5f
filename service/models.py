"""Imports every domain's models so metadata (and Alembic) sees all tables."""

from .circuits.models import Circuit
from .email.models import EmailAttempt, EmailMessage, Suppression
from .jobstate.models import DurableCounter, JobRun, JobRunRequest, JobState, Lease

__all__ = [
    "Circuit",
    "DurableCounter",
    "EmailAttempt",
    "EmailMessage",
    "JobRun",
    "JobRunRequest",
    "JobState",
    "Lease",
    "Suppression",
]
