"""Imports every domain's models so metadata (and Alembic) sees all tables."""

from .jobstate.models import DurableCounter, JobRun, JobRunRequest, JobState, Lease

__all__ = ["DurableCounter", "JobRun", "JobRunRequest", "JobState", "Lease"]
