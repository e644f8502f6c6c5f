"""Gunicorn access log as structured fields, with `token=` redacted and email
addresses in the path or query masked (customer data never reaches a log).

A view may add fields of its own (`note_for_access_log`): the Stripe webhook
puts the event's id, type and result there, so each delivery is one line.
They are appended to the message too (`key=value`), for text logs."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from ..redaction import mask_addresses, redact, redact_query
from .logging import ACCESS_FIELDS_KEY


def _header(headers: Any, name: str) -> str | None:
    for key, value in headers or ():
        if key.lower() == name:
            return value
    return None


class AccessLogger(Logger):
    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        status = str(resp.status).split(None, 1)[0]
        query = mask_addresses(redact_query(environ.get("QUERY_STRING", "")))
        path = mask_addresses(environ.get("PATH_INFO", ""))
        target = f"{path}?{query}" if query else path
        method = environ.get("REQUEST_METHOD", "-")
        duration_ms = round(request_time.total_seconds() * 1000, 2)
        fields = {
            "method": method,
            "path": path,
            "query": query,
            "status": int(status) if status.isdigit() else status,
            "duration_ms": duration_ms,
            "bytes": getattr(resp, "sent", None),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "user_agent": redact(environ.get("HTTP_USER_AGENT", "")),
            "request_id": _header(resp.headers, "x-request-id"),
        }
        noted = environ.get(ACCESS_FIELDS_KEY)
        message = "%s %s %s %.1fms"
        if noted:
            fields.update(noted)
            message += "".join(f" {key}=%s" for key in noted)
            args = (method, target, status, duration_ms, *noted.values())
        else:
            args = (method, target, status, duration_ms)
        self.access_log.info(message, *args, extra=fields)
