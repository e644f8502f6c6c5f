"""Bearer-token checks shared by /metrics and the admin API (rules: README, "Configuration")."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request

from .errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])


def presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.args.get("token") or None


def check_token(variable: str, realm: str) -> None:
    """Raise ApiError unless the request may pass; `variable` names the setting."""
    settings = current_app.config["SETTINGS"]
    configured: str | None = getattr(settings, variable.lower())
    if not settings.token_required(configured):
        return  # development/test with no token configured: open
    if configured is None:
        raise ApiError(500, "server_misconfigured", f"{variable} is required but not configured.")
    given = presented_token()
    # compare_digest takes time independent of where the strings differ.
    if given is None or not hmac.compare_digest(given.encode(), configured.encode()):
        raise ApiError(
            401,
            "unauthorized",
            "A valid bearer token is required.",
            {"WWW-Authenticate": f'Bearer realm="{realm}"'},
        )


def token_required(variable: str, realm: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check_token(variable, realm)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # functools.wraps keeps F's signature

    return decorator
