"""Operator API under /v1/admin, behind ADMIN_TOKEN: `admin_blueprint` for
each domain's admin routes, and `audited` to name their writes (see views.py)."""

from .views import AUDIT_ATTRIBUTE, admin_blueprint, audited

__all__ = ["AUDIT_ATTRIBUTE", "admin_blueprint", "audited"]
