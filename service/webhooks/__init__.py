"""Stripe webhooks: verification, storage, application to billing state."""

from flask import Flask


def init_app(app: Flask) -> None:
    from ..observability.views import add_primer
    from . import cli, metrics

    add_primer(app, metrics.prime)
    app.cli.add_command(cli.webhooks_cli)
