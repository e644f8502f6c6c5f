"""Email: outbox, templates, backends, dispatch and the dead-letter queue."""

from __future__ import annotations

from flask import Flask

from ..observability.registry import add_provider


def init_app(app: Flask) -> None:
    from . import cli, dlq, provider_views, views

    app.register_blueprint(views.admin)
    app.cli.add_command(cli.dlq_cli)
    app.cli.add_command(cli.email_cli)
    add_provider(app, dlq.metric_families)
    app.register_blueprint(provider_views.sendgrid_webhooks)
    app.register_blueprint(provider_views.admin)
