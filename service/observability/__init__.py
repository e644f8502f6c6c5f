"""Logging, request metrics, health checks and the /metrics endpoint."""
