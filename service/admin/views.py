"""The admin API's shared rules: every route under /v1/admin, behind ADMIN_TOKEN.

Each domain owns its admin routes on a blueprint made here and registers it
from its own `init_app`; nothing imports a shared blueprint for its side
effects. Token rules: README's "Configuration" section.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, current_app, g

from ..auth import check_token

URL_PREFIX = "/v1/admin"
AUDIT_ATTRIBUTE = "audit_action"  # read by service/audit when the write is answered
F = TypeVar("F", bound=Callable[..., Any])


def _require_admin_token() -> None:
    check_token("ADMIN_TOKEN", "admin")
    # Who acted, for the audit trail (service/audit): the admin token's
    # holder, or an open loopback request when no token is configured.
    g.actor_source = "api"
    g.actor_role = "admin" if current_app.config["SETTINGS"].admin_token else "loopback"


def admin_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint for one domain's admin routes (endpoint names `NAME.view`)."""
    blueprint = Blueprint(name, import_name, url_prefix=URL_PREFIX)
    blueprint.before_request(_require_admin_token)
    return blueprint


def audited(action: str, target: str | None = None) -> Callable[[F], F]:
    """Name an admin write for the audit trail: `action` (e.g. "dlq.replay"),
    and the view argument that says what was acted on. Only a mark: the audit
    package (above the domains) records every admin write when it is answered,
    so a domain never imports it. A view may leave more in `g.audit_detail`."""

    def mark(view: F) -> F:
        setattr(view, AUDIT_ATTRIBUTE, (action, target))
        return view

    return mark
