"""The admin API's shared rules: every route under /v1/admin, behind ADMIN_TOKEN.

Each domain owns its admin routes on a blueprint made here and registers it
from its own `init_app`; nothing imports a shared blueprint for its side
effects. The token is checked app-wide before routing (service/auth.py
`guard_protected_paths`), so unknown admin paths and wrong methods answer
401 too. Token rules: README's "Tokens and who may call what".
"""

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint

URL_PREFIX = "/v1/admin"
AUDIT_ATTRIBUTE = "audit_action"  # read by service/audit when the write is answered
F = TypeVar("F", bound=Callable[..., Any])


def admin_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint for one domain's admin routes (endpoint names `NAME.view`)."""
    return Blueprint(name, import_name, url_prefix=URL_PREFIX)


def audited(action: str, target: str | None = None, private: bool = False) -> Callable[[F], F]:
    """Name an admin write for the audit trail: `action` (e.g. "dlq.replay"),
    and the view argument that says what was acted on (`private`: customer data,
    such as an address, kept in the trail but out of the log line). Only a
    mark: the audit package (above the domains) records every admin write when
    it is answered, so a domain never imports it. A view may leave more in
    `g.audit_detail`."""

    def mark(view: F) -> F:
        setattr(view, AUDIT_ATTRIBUTE, (action, target, private))
        return view

    return mark
