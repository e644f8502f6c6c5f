"""What the worker records about its jobs, read by the web tier."""

from flask import Flask

from ..observability.collector import add_provider


def init_app(app: Flask) -> None:
    from . import cli, status

    app.extensions["jobs_readiness"] = status.readiness
    add_provider(app, status.metric_families)
    app.cli.add_command(cli.jobs_cli)
