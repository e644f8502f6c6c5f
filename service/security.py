"""Request-wide defences (docs/SECURITY.md): body size limit, security
headers, and the token guard in front of /metrics and the admin API.

Headers are added by a small WSGI wrapper rather than an after_request hook:
it also covers responses produced by error handlers and costs one closure
per request.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, RequestTimeout
from werkzeug.routing import IntegerConverter

from . import auth
from .errors import ApiError, error_response

MAX_CONTENT_LENGTH = 1024 * 1024  # 1 MiB; the Stripe webhook keeps its own 256 KiB
# Paths that enforce a smaller limit themselves and count what they refuse.
OWN_LIMIT_PREFIXES = ("/v1/webhooks/",)
NO_STORE_PREFIXES = (auth.ADMIN_PREFIX, auth.METRICS_PATH, "/console")
# A request body must arrive within this many seconds in all (1 MiB at
# ~1 Mbit/s): a client trickling its body holds a Gunicorn thread no longer.
BODY_DEADLINE_SECONDS = 10.0
MAX_ID = 2**63 - 1  # BIGINT: a larger id would be a database error, not a miss


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` everywhere: an id past BIGINT is a clear 400, not a 500."""

    def to_python(self, value: str) -> int:
        number = int(super().to_python(value))
        if number > MAX_ID:
            raise BadRequest(f"{value[:30]} is not a valid id (at most {MAX_ID}).")
        return number


def _too_large() -> ApiError:
    return ApiError(
        413, "payload_too_large", f"The request body exceeds {MAX_CONTENT_LENGTH} bytes."
    )


class SecurityHeaders:
    """`X-Content-Type-Options: nosniff` everywhere; `Cache-Control: no-store`
    on responses that may hold customer data or tokens' results."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        no_store = environ.get("PATH_INFO", "").startswith(NO_STORE_PREFIXES)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.append(("X-Content-Type-Options", "nosniff"))
            if no_store:
                headers[:] = [h for h in headers if h[0].lower() != "cache-control"]
                headers.append(("Cache-Control", "no-store"))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


class BodyTimeout(RequestTimeout):
    """The body did not arrive in time; the connection is closed after the 408."""


class _DeadlineInput:
    """wsgi.input whose reads, together, end by a deadline: before each read
    the client socket's timeout is set to the time left."""

    def __init__(self, stream: Any, sock: Any, deadline: float) -> None:
        self.stream, self.sock, self.deadline = stream, sock, deadline

    def _call(self, method: str, *args: Any) -> Any:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise BodyTimeout()
        try:
            self.sock.settimeout(remaining)
            return getattr(self.stream, method)(*args)
        except (TimeoutError, OSError):
            raise BodyTimeout() from None

    def read(self, size: int | None = -1) -> bytes:
        return self._call("read", size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._call("readline", size)

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        return self._call("readlines", hint)

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


class BodyDeadline:
    """Under Gunicorn (which puts the client socket in the environ), bound
    the time a request may take to send its body."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        sock = environ.get("gunicorn.socket")
        has_body = environ.get("CONTENT_LENGTH") not in (None, "", "0") or (
            "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        )
        if sock is not None and has_body:
            deadline = time.monotonic() + BODY_DEADLINE_SECONDS
            environ["wsgi.input"] = _DeadlineInput(environ["wsgi.input"], sock, deadline)
        return self.wsgi_app(environ, start_response)


def refuse_oversized() -> None:
    """Refuse a body over the limit before any view reads it (a view that
    never reads its body would otherwise accept 10 MB silently)."""
    if request.path.startswith(OWN_LIMIT_PREFIXES):
        return
    length = request.content_length
    if length is not None:
        if length > MAX_CONTENT_LENGTH:
            raise _too_large()
    elif "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        _buffer_chunked_body(request.environ)


def _buffer_chunked_body(environ: dict[str, Any]) -> None:
    """A chunked body declares no length, and Werkzeug's limit silently
    truncates it at MAX_CONTENT_LENGTH (a view would then parse half a body).
    Read up to one byte past the limit ourselves: refuse, or hand the view
    the whole body with its length."""
    body = environ["wsgi.input"].read(MAX_CONTENT_LENGTH + 1)
    if len(body) > MAX_CONTENT_LENGTH:
        raise _too_large()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    request.__dict__.pop("stream", None)  # in case anything looked already


def refuse_nul_bytes() -> None:
    """A NUL byte is never data in a URL; PostgreSQL refuses it in text, so
    it would otherwise surface as a database error (500)."""
    if "\x00" in request.path or "%00" in request.environ.get("QUERY_STRING", ""):
        raise ApiError(400, "invalid_input", "NUL bytes are not allowed in URLs.")


def check_request() -> None:
    """One before_request hook (each hook costs a dispatch on every request):
    the token first, so an unauthenticated caller learns nothing else."""
    auth.guard_protected_paths()
    refuse_oversized()
    refuse_nul_bytes()


def _handle_body_timeout(_exc: BodyTimeout) -> Response:
    response = error_response(
        408, "request_timeout", f"The body did not arrive within {BODY_DEADLINE_SECONDS:g} s."
    )
    # The rest of the body may still trickle in: Gunicorn must not keep the
    # connection (and drain it on a thread) for another request.
    response.headers["Connection"] = "close"
    return response


def _handle_too_large(_exc: RequestEntityTooLarge) -> Response:
    error = _too_large()
    return error_response(error.status, error.code, error.message)


def init_app(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH  # streamed bodies too
    # Before any blueprint: a rule binds its converter class when it is added.
    app.url_map.converters["int"] = BoundedIntConverter
    auth.warn_open_routes(app.config["SETTINGS"])
    app.before_request(check_request)
    app.register_error_handler(RequestEntityTooLarge, _handle_too_large)
    app.register_error_handler(BodyTimeout, _handle_body_timeout)
    app.wsgi_app = BodyDeadline(app.wsgi_app)  # type: ignore[method-assign]
    app.wsgi_app = SecurityHeaders(app.wsgi_app)  # type: ignore[method-assign]
