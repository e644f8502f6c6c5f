"""Audit trail: who pressed which button, from the console or the admin API."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import views as _views  # noqa: F401  (routes on `admin`)
