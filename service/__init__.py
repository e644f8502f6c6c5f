"""Flask application factory: a list of init_app calls, no work at import."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask

from . import errors
from .config import PROJECT_ROOT, ConfigError, Settings, load_settings
from .db import engine_options, init_engine
from .extensions import db, migrate
from .observability import metrics as http_metrics
from .observability import views as observability_views
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
    app.json.sort_keys = False  # type: ignore[attr-defined]


def _init_database(app: Flask) -> None:
    from . import models  # noqa: F401  (every table on db.metadata)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    with app.app_context():
        init_engine(db.engine)


def _register_blueprints(app: Flask) -> None:
    from . import audit, circuits, console, email, jobstate
    from .admin.views import admin
    from .jobstate import views as _jobstate_views  # noqa: F401  (routes on `admin`)
    from .webhooks import init_app as init_webhooks
    from .webhooks.views import webhooks

    observability_views.init_app(app)
    jobstate.init_app(app)
    email.init_app(app)
    circuits.init_app(app)
    init_webhooks(app)
    app.register_blueprint(webhooks)
    audit.init_app(app)  # before `admin` is registered: its route is on it
    app.register_blueprint(admin)
    console.init_app(app)


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
    http_metrics.init_app(app)
    errors.init_app(app)
    _init_database(app)
    _register_blueprints(app)
    return app
