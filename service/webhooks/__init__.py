"""Stripe webhooks: verification, storage, application to billing state."""

from flask import Flask


def init_app(app: Flask) -> None:
    from ..observability.collector import add_provider
    from . import cli, metrics

    add_provider(app, metrics.metric_families)
    app.cli.add_command(cli.webhooks_cli)
