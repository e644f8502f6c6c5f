"""Audit trail: who pressed which button, from the console or the admin API."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import trail, views

    app.register_blueprint(views.admin)
    app.after_request(trail.after_admin_request)
