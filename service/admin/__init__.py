"""Operator API under /v1/admin, behind ADMIN_TOKEN."""
