"""Flask application factory: a plain list of init_app calls, no work at import.

Every domain is wired the same way: its package's `init_app(app)` registers
its blueprints (admin routes included), CLI group and metric providers.
docs/ARCHITECTURE.md has the layers and what each may import.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask

from . import (
    audit,
    billing,
    circuits,
    console,
    email,
    errors,
    jobstate,
    models,
    observability,
    openapi,
    security,
    webhooks,
)
from .config import ConfigError, Settings, load_settings
from .db import engine_options, set_request_threads
from .observability.logging import configure_logging, report_config_error

log = logging.getLogger(__name__)


def _configure(app: Flask, settings: Settings) -> None:
    app.config.update(
        SETTINGS=settings,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings),
        SQLALCHEMY_TRACK_MODIFICATIONS=False,
        TESTING=settings.app_env == "test",
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider's attribute
    set_request_threads(settings.web_threads)  # gthread: requests run side by side


def create_app_or_exit() -> Flask:
    """For process entry points: a configuration error ends the process with
    one clear (JSON in production) line naming the variable, exit status 2."""
    try:
        return create_app()
    except ConfigError as exc:
        report_config_error(exc)
        raise SystemExit(2) from None


def create_app(config: Mapping[str, object] | None = None) -> Flask:
    """Build the app; `config` overrides environment variables by name (tests)."""
    settings = load_settings(overrides=config)
    configure_logging(settings)
    app = Flask(__name__)
    _configure(app, settings)
    # Plumbing first (request metrics, error pages, database, health and
    # /metrics), then each domain.
    observability.init_app(app)
    errors.init_app(app)
    # Before any blueprint: the token guard, body limits and security headers
    # (and the bounded <int:> converter, bound when a rule is added).
    security.init_app(app)
    models.init_app(app)
    jobstate.init_app(app)
    circuits.init_app(app)
    email.init_app(app)
    billing.init_app(app)
    webhooks.init_app(app)
    audit.init_app(app)
    console.init_app(app)  # pages over every domain above
    openapi.init_app(app)
    return app
