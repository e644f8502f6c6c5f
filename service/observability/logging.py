"""Log formatting: one JSON object per line in production, secrets redacted.

The same formatter serves the Flask app, the worker and Gunicorn's own
loggers (through `gunicorn_logconfig`), so a log pipeline can parse every
line any process writes, tracebacks included (they travel in `exc_info`).
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any

from flask import has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from ..config import Settings
from ..redaction import REDACTED, redact, set_secrets
from .metrics import REQUEST_ID_KEY

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"
# The environ key under which a view leaves fields for the request's access-log line.
ACCESS_FIELDS_KEY = "service.access_fields"
MAX_TRACEBACK_CHARS = 64 * 1024
# Attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_SECRET_KEYS = ("token", "password", "secret", "authorization", "api_key", "apikey")
_MAX_DEPTH = 4


@functools.lru_cache(maxsize=1024)
def _secret_name(key: str) -> bool:
    # Field names come from code and repeat on every line: decided once each.
    return any(word in key.lower() for word in _SECRET_KEYS)


def _redact_value(key: str, value: Any, depth: int = 0) -> Any:
    """An `extra` field, redacted: by its name, then by its content."""
    if _secret_name(key):
        return REDACTED if value not in (None, "") else value
    if isinstance(value, str):
        return redact(value)
    if depth >= _MAX_DEPTH or value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v, depth + 1) for k, v in list(value.items())[:100]}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v, depth + 1) for v in value[:100]]
    return redact(str(value))


class RedactingFilter(logging.Filter):
    """Redacts a record's message (its arguments formatted in), its `extra`
    fields and its traceback in place, before any formatter serialises it:
    a secret holding `"`, `\\` or non-ASCII is matched as written, not as a
    JSON escape of itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not raise in the caller
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                setattr(record, key, _redact_value(key, value))
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(formatted, MAX_TRACEBACK_CHARS)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text, MAX_TRACEBACK_CHARS)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, MAX_TRACEBACK_CHARS)
        record._redacted = True
        return True


def note_for_access_log(environ: dict[str, Any], **fields: str) -> None:
    """Fields (short, not customer data) the request's access-log line carries
    besides its own, so a request says what it did in one line instead of
    two (the second line cost about a tenth of a webhook's CPU)."""
    environ.setdefault(ACCESS_FIELDS_KEY, {}).update(fields)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = (
                request.environ.get(REQUEST_ID_KEY) if has_request_context() else None
            )
        return True


class JsonLogFormatter(JsonFormatter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "ts")
        super().__init__("%(levelname)s %(name)s %(message)s %(process)d", *args, **kwargs)


class TextLogFormatter(logging.Formatter):
    """One line per record: CR and LF in the message are escaped, so a `%0a`
    in a URL cannot forge a line; traceback lines are indented under it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_line_breaks(super().formatMessage(record))

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        head, sep, rest = text.partition("\n")
        return head + sep + "\n".join("    " + line for line in rest.split("\n")) if sep else head


def escape_line_breaks(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


class ServiceHandler(logging.StreamHandler):
    """Our stderr handler; a marked class so set-up can replace it idempotently."""


def _formatter_class(settings: Settings) -> type[logging.Formatter]:
    return JsonLogFormatter if settings.log_format == "json" else TextLogFormatter


def _set_secrets(settings: Settings) -> None:
    set_secrets(settings.secrets)


def _log_uncaught(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    logging.getLogger("service").critical("uncaught exception", exc_info=(exc_type, exc, tb))


def configure_logging(settings: Settings) -> None:
    """Route the root logger through one ServiceHandler; safe to call again."""
    _set_secrets(settings)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, ServiceHandler)]:
        root.removeHandler(handler)
    handler = ServiceHandler(sys.stderr)
    handler.setFormatter(_formatter_class(settings)())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())  # last: sees the request id field too
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


def gunicorn_logconfig(settings: Settings) -> dict[str, Any]:
    """`logconfig_dict` for Gunicorn: its own loggers use our formatter too."""
    _set_secrets(settings)
    formatter = _formatter_class(settings)
    handler = {
        "class": f"{ServiceHandler.__module__}.ServiceHandler",
        "formatter": "service",
        "filters": ["request_id", "redact"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"service": {"()": f"{formatter.__module__}.{formatter.__name__}"}},
        "filters": {
            "request_id": {"()": f"{RequestIdFilter.__module__}.RequestIdFilter"},
            "redact": {"()": f"{RedactingFilter.__module__}.RedactingFilter"},
        },
        "handlers": {"service": handler},
        "root": {"level": settings.log_level, "handlers": ["service"]},
        "loggers": {
            "gunicorn.error": {
                "level": settings.log_level,
                "handlers": ["service"],
                "propagate": False,
            },
            "gunicorn.access": {"level": "INFO", "handlers": ["service"], "propagate": False},
        },
    }


def report_config_error(exc: Exception, environ: dict[str, str] | None = None) -> None:
    """Log a start-up configuration error before settings (and logging) exist.

    JSON when the environment asks for production or JSON logs, so even this
    last line of a failed boot is parseable.
    """
    import json
    import os

    env = os.environ if environ is None else environ
    as_json = env.get("LOG_FORMAT", "").lower() == "json" or (
        env.get("APP_ENV", "").lower() == "production"
        and env.get("LOG_FORMAT", "").lower() != "text"
    )
    message = redact(f"configuration error: {exc}")
    variable = getattr(exc, "variable", None)
    if as_json:
        line = json.dumps(
            {
                "level": "CRITICAL",
                "logger": "service.config",
                "message": message,
                "variable": variable,
            }
        )
    else:
        line = f"CRITICAL service.config: {escape_line_breaks(message)}"
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
