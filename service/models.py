"""Imports every domain's models so metadata (and Alembic) sees all tables."""

from .circuits.models import Circuit
from .email.models import EmailMessage
from .jobstate.models import DurableCounter, JobRun, JobRunRequest, JobState, Lease

__all__ = [
    "Circuit",
    "DurableCounter",
    "EmailMessage",
    "JobRun",
    "JobRunRequest",
    "JobState",
    "Lease",
]
