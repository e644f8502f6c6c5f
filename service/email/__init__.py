"""Email: outbox, templates, backends, dispatch and the dead-letter queue."""

from __future__ import annotations

from flask import Flask

from ..observability.collector import add_provider


def init_app(app: Flask) -> None:
    from . import cli, dlq
    from . import views as _views  # noqa: F401  (routes on `admin`)
    from .provider_views import sendgrid_webhooks

    add_provider(app, dlq.metric_families)
    app.cli.add_command(cli.dlq_cli)
    app.cli.add_command(cli.email_cli)
    app.register_blueprint(sendgrid_webhooks)
