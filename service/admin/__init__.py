"""Operator API under /v1/admin, behind ADMIN_TOKEN: `admin_blueprint` for
each domain's admin routes (see views.py)."""

from .views import admin_blueprint

__all__ = ["admin_blueprint"]
