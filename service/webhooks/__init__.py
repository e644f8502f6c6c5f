"""Stripe webhooks: verification, storage, application to billing state."""

from flask import Flask


def init_app(app: Flask) -> None:
    from . import cli, metrics

    metrics.prime()
    app.cli.add_command(cli.webhooks_cli)
