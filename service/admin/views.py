"""The admin API's shared rules: every route under /v1/admin, behind ADMIN_TOKEN.

Each domain owns its admin routes on a blueprint made here and registers it
from its own `init_app`; nothing imports a shared blueprint for its side
effects. The token is checked app-wide before routing (service/auth.py
`guard_protected_paths`), so unknown admin paths and wrong methods answer
401 too. Token rules: README's "Tokens and who may call what".
"""

from flask import Blueprint

URL_PREFIX = "/v1/admin"


def admin_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint for one domain's admin routes (endpoint names `NAME.view`)."""
    return Blueprint(name, import_name, url_prefix=URL_PREFIX)
