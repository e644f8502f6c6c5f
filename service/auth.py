"""Bearer-token checks for /metrics and the admin API (README "Security").

- A token is required in production and whenever it is set. Required but not
  configured answers 500 `server_misconfigured`; a missing or wrong token 401
  with `WWW-Authenticate: Bearer`.
- Outside production with no token set, the route is open to loopback clients
  only (an operator's own machine); anyone else gets 401.
- Admin routes take the token only from `Authorization: Bearer`: a `?token=`
  would end up in router and proxy logs, so it is refused outright. `/metrics`
  keeps `?token=` because Prometheus' scrape config may only allow that.
- `ADMIN_READONLY_TOKEN` opens admin reads (GET, HEAD); its writes get 403.
- Admin requests are checked before routing (`guard_protected_paths`), so an
  unknown admin path or a wrong method answers 401, not a 404/405 oracle.
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request

from .config import Settings
from .errors import ApiError
from .netutil import is_loopback_address

F = TypeVar("F", bound=Callable[..., Any])
ADMIN_PREFIX = "/v1/admin"
METRICS_PATH = "/metrics"
READ_METHODS = frozenset({"GET", "HEAD"})
ADMIN, READONLY = "admin", "readonly"
log = logging.getLogger(__name__)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def presented_token(allow_query: bool = True) -> str | None:
    return bearer_token() or ((request.args.get("token") or None) if allow_query else None)


def _matches(given: str | None, configured: str | None) -> bool:
    # compare_digest takes time independent of where the strings differ.
    return bool(given and configured and hmac.compare_digest(given.encode(), configured.encode()))


def _unauthorized(realm: str, message: str = "A valid bearer token is required.") -> ApiError:
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": f'Bearer realm="{realm}"'})


def _misconfigured(variable: str) -> ApiError:
    return ApiError(500, "server_misconfigured", f"{variable} is required but not configured.")


def _open_to_loopback(realm: str) -> None:
    """No token and not production: only this machine may come in."""
    if not is_loopback_address(request.remote_addr):
        raise _unauthorized(realm, "Without a configured token only loopback clients may call.")


def check_token(variable: str, realm: str) -> None:
    """Raise ApiError unless the request may pass; `variable` names the setting."""
    settings: Settings = current_app.config["SETTINGS"]
    configured: str | None = getattr(settings, variable.lower())
    if not settings.token_required(configured):
        _open_to_loopback(realm)
        return
    if configured is None:
        raise _misconfigured(variable)
    if not _matches(presented_token(), configured):
        raise _unauthorized(realm)


def _admin_required(settings: Settings) -> bool:
    return settings.is_production or bool(settings.admin_token or settings.admin_readonly_token)


def role_for_token(settings: Settings, token: str | None) -> str | None:
    """ "admin" for ADMIN_TOKEN, "readonly" for ADMIN_READONLY_TOKEN, else None
    (for the console's sign-in as much as for the bearer header)."""
    if _matches(token, settings.admin_token):
        return ADMIN
    if _matches(token, settings.admin_readonly_token):
        return READONLY
    return None


def admin_role() -> str:
    """Authenticate an admin request; its role, "admin" or "readonly"."""
    settings: Settings = current_app.config["SETTINGS"]
    if "token" in request.args:
        raise _unauthorized("admin", "Send the token in the Authorization header, not ?token=.")
    if not _admin_required(settings):
        _open_to_loopback("admin")
        return ADMIN
    role = role_for_token(settings, bearer_token())
    if role == READONLY and request.method not in READ_METHODS:
        raise ApiError(403, "forbidden", "The read-only token cannot change anything.")
    if role is not None:
        return role
    if settings.admin_token is None:
        raise _misconfigured("ADMIN_TOKEN")
    raise _unauthorized("admin")


def caller_role() -> str | None:
    """The role of the current admin caller ("admin" / "readonly"), None when
    the request has not been authenticated as an admin request (for the
    console and the audit trail)."""
    return g.get("admin_role")


def is_admin_path(path: str) -> bool:
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


def guard_protected_paths() -> None:
    """App-wide before_request: runs before the routing result is acted on,
    so 404 and 405 are never answered to an unauthenticated caller."""
    path = request.path
    if is_admin_path(path):
        g.admin_role = admin_role()
    elif path == METRICS_PATH:
        check_token("METRICS_TOKEN", "metrics")  # OPTIONS and HEAD included


def token_required(variable: str, realm: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check_token(variable, realm)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # functools.wraps keeps F's signature

    return decorator


def open_routes(settings: Settings) -> list[str]:
    """Protected routes that answer loopback clients without a token."""
    if settings.is_production:
        return []
    routes = []
    if not _admin_required(settings):
        routes.append(ADMIN_PREFIX + "/*")
    if not settings.token_required(settings.metrics_token):
        routes.append(METRICS_PATH)
    return routes


def warn_open_routes(settings: Settings) -> None:
    routes = open_routes(settings)
    if routes:
        log.warning(
            "no token configured: %s open to loopback clients only (set ADMIN_TOKEN and "
            "METRICS_TOKEN to require one)",
            ", ".join(routes),
            extra={"open_routes": routes},
        )
