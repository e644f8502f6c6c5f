"""GET /openapi.json: docs/openapi.yaml, the description of the whole HTTP API.

Read once, on the first request (no file access at import or app creation),
and served without authentication: it names routes, never data.
"""

from __future__ import annotations

import functools
from typing import Any

import yaml
from flask import Blueprint, Flask, Response, jsonify

from .config import PROJECT_ROOT

OPENAPI_PATH = PROJECT_ROOT / "docs" / "openapi.yaml"
openapi = Blueprint("openapi", __name__)


@functools.cache
def document() -> dict[str, Any]:
    with OPENAPI_PATH.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@openapi.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(document())


def init_app(app: Flask) -> None:
    app.register_blueprint(openapi)
