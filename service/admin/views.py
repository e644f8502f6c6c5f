"""Blueprint `admin`: every route requires ADMIN_TOKEN (SPEC.md rules)."""

from flask import Blueprint, current_app, g

from ..auth import check_token

admin = Blueprint("admin", __name__, url_prefix="/v1/admin")


@admin.before_request
def _require_admin_token() -> None:
    check_token("ADMIN_TOKEN", "admin")
    # Who acted, for the audit trail (service/audit): the admin token's
    # holder, or an open loopback request when no token is configured.
    g.actor_source = "api"
    g.actor_role = "admin" if current_app.config["SETTINGS"].admin_token else "loopback"
