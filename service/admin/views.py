"""Blueprint `admin`: every route requires ADMIN_TOKEN (SPEC.md rules)."""

from flask import Blueprint

from ..auth import check_token

admin = Blueprint("admin", __name__, url_prefix="/v1/admin")


@admin.before_request
def _require_admin_token() -> None:
    check_token("ADMIN_TOKEN", "admin")
