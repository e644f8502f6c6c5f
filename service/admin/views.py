"""Blueprint `admin`: every route requires ADMIN_TOKEN (SPEC.md rules).

The token is checked app-wide before routing (service/auth.py
`guard_protected_paths`), so unknown admin paths answer 401 too.
"""

from flask import Blueprint

admin = Blueprint("admin", __name__, url_prefix="/v1/admin")
