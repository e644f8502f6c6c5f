"""What the worker records about its jobs, read by the web tier; the job catalogue."""

from flask import Flask

from ..observability.registry import add_provider, add_readiness


def init_app(app: Flask) -> None:
    from . import cli, status, views

    app.register_blueprint(views.admin)
    app.cli.add_command(cli.jobs_cli)
    add_provider(app, status.metric_families)
    add_readiness(app, "jobs", status.readiness, unavailable={"ok": False, "jobs": {}})
