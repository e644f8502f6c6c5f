"""One JSON error shape for every failure: {"error": {"code", "message"}}."""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error a view raises on purpose; rendered as the one JSON error body
    (`{"error": {"code", "message"}}`, README's "Endpoints")."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _handle_api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.headers)


def _handle_http_exception(exc: HTTPException) -> Response:
    response = error_response(exc.code or 500, _snake(exc.name), exc.description or exc.name)
    for name, value in exc.get_headers():  # keep Allow on 405 and the like
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _handle_unexpected(exc: Exception) -> Response:
    # The traceback goes to the log (one JSON object in production); the
    # client gets no stack trace and no internals.
    log.exception("unhandled exception")
    return error_response(500, "internal_error", "The server failed to handle the request.")


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)
