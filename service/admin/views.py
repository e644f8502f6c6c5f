"""The admin API's shared rules: every route under /v1/admin, behind ADMIN_TOKEN.

Each domain owns its admin routes on a blueprint made here and registers it
from its own `init_app`; nothing imports a shared blueprint for its side
effects. Token rules: README's "Configuration" section.
"""

from flask import Blueprint

from ..auth import check_token

URL_PREFIX = "/v1/admin"


def _require_admin_token() -> None:
    check_token("ADMIN_TOKEN", "admin")


def admin_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint for one domain's admin routes (endpoint names `NAME.view`)."""
    blueprint = Blueprint(name, import_name, url_prefix=URL_PREFIX)
    blueprint.before_request(_require_admin_token)
    return blueprint
