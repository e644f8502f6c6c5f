"""Operator console: server-rendered pages at /console over the admin API's domain functions.

No JavaScript framework, no build step, no external asset: Jinja templates
and one stylesheet served by the app, so it works on a machine with no
internet. Every action calls the same domain function as the admin API
(service/email/dlq.py, service/webhooks/reprocess.py, ...), and is recorded
in the audit trail (service/audit).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from ..extensions import csrf
from . import session

SESSION_HOURS = 8


def init_app(app: Flask) -> None:
    from . import dead_letters, pages, suppressions, webhook_events  # noqa: F401  (routes on `console`)
    from .blueprint import console

    settings = app.config["SETTINGS"]
    app.config.update(
        SECRET_KEY=session.secret_key(settings),
        SESSION_COOKIE_NAME="console_session",
        SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.is_production,
        SESSION_REFRESH_EACH_REQUEST=False,  # expires 8 h after sign-in, not after last use
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        # CSRF is checked by the console's own gate, not on every POST of the
        # app: the Stripe webhook and the bearer-token admin API carry none.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
    )
    app.session_interface = session.ConsoleSessionInterface()
    csrf.init_app(app)
    app.register_blueprint(console)
