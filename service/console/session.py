"""Console sign-in: which token a session was opened with, and whether it still holds.

The session is Flask's signed cookie (HttpOnly, SameSite=Strict, Secure in
production, 8 hours). Its key is derived from ADMIN_TOKEN with HMAC, so the
console needs no setting of its own, and rotating ADMIN_TOKEN ends every
session. Each session also keeps a fingerprint of the token it was opened
with: rotating ADMIN_READONLY_TOKEN ends the read-only sessions too.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from datetime import timedelta

from flask import Flask, Request, current_app, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from ..audit import trail
from ..auth import role_for_token
from ..config import Settings
from ..timeutil import utcnow

ADMIN, READONLY, LOOPBACK = "admin", "readonly", "loopback"
WRITERS = frozenset({ADMIN, LOOPBACK})
SIGN_IN_FAILED = "console.sign_in_failed"
# Failed sign-ins allowed per client address per minute, across the fleet:
# they are counted from the audit trail in the shared database, so N web
# dynos do not multiply the allowance as an in-process counter would.
MAX_FAILURES_PER_MINUTE = 5


def secret_key(settings: Settings) -> bytes:
    """HMAC of a fixed label under ADMIN_TOKEN (or, with no token outside
    production, under the database URL: the console is then loopback-only)."""
    root = settings.admin_token or settings.admin_readonly_token or settings.database_url
    return hmac.new(root.encode(), b"billing-notifier console session v1", "sha256").digest()


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """The cookie's Path is the console's, so no browser sends it anywhere
    else: other requests (webhooks, probes, the admin API) get Flask's null
    session instead of reading and verifying a cookie they never carry
    (about 4% of a webhook request's CPU)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.path.startswith(app.config["SESSION_COOKIE_PATH"]):
            return None  # Flask then uses a null session, which refuses writes
        return super().open_session(app, request)


def _settings() -> Settings:
    return current_app.config["SETTINGS"]


def _tokens() -> dict[str, str]:
    settings = _settings()
    found = {ADMIN: settings.admin_token, READONLY: settings.admin_readonly_token}
    return {role: token for role, token in found.items() if token}


def _fingerprint(token: str) -> str:
    key = session_key()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()[:32]


def session_key() -> bytes:
    key = current_app.secret_key
    return key if isinstance(key, bytes) else str(key).encode()


def is_loopback() -> bool:
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def open_without_token() -> bool:
    """The admin API's rule: outside production with no ADMIN_TOKEN, loopback is let in."""
    settings = _settings()
    return not settings.is_production and settings.admin_token is None and is_loopback()


def current_role() -> str | None:
    role, mark = session.get("role"), session.get("token")
    token = _tokens().get(role) if isinstance(role, str) else None
    signed_in = session.get("at", 0)
    fresh = isinstance(signed_in, int | float) and time.time() - signed_in < _lifetime()
    if token and isinstance(mark, str) and fresh and hmac.compare_digest(mark, _fingerprint(token)):
        return role
    return LOOPBACK if open_without_token() else None


def _lifetime() -> float:
    return current_app.permanent_session_lifetime.total_seconds()


def can_write(role: str) -> bool:
    return role in WRITERS


def rate_limited() -> bool:
    since = utcnow() - timedelta(minutes=1)
    return trail.recent_count(SIGN_IN_FAILED, request.remote_addr, since) >= MAX_FAILURES_PER_MINUTE


def sign_in(given: str) -> str | None:
    """Open a session for whichever token `given` is; None (and on record) if neither."""
    role = role_for_token(_settings(), given or None)  # the admin API's own rule
    if role is None:
        trail.record(SIGN_IN_FAILED, None, 401, None, role="anonymous")
        return None
    session.clear()
    session.permanent = True
    session.update(role=role, token=_fingerprint(_tokens()[role]), at=int(time.time()))
    trail.record("console.sign_in", None, 200, None, role=role)
    return role


def sign_out() -> None:
    session.clear()
