"""Stripe webhooks: verification, storage, application to billing state, and
the mail each event causes."""

from flask import Flask

from ..observability.registry import add_provider


def init_app(app: Flask) -> None:
    from . import cli, metrics, validity, views

    app.register_blueprint(views.webhooks)
    app.register_blueprint(views.admin)
    app.cli.add_command(cli.webhooks_cli)
    add_provider(app, metrics.metric_families)  # fleet-wide sums, from the database
    validity.init_app(app)
