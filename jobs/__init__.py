"""Scheduling only: the scheduler, the leader lease, one small function per job."""
