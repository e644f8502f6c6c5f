"""Record operator actions: a row in `audit_entry` and one log line each.

Every admin API write is recorded when it is answered (`after_admin_request`;
views name their action with `service.admin.audited`); the console calls
`record(...)` after the same domain function. Who acted comes from `g`
(the console's `actor_role`, `actor_source`) or service/auth.py's
`caller_role()` (the admin API's token), set by whichever door let the request
in, so the domain functions stay free of HTTP concerns.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Response, current_app, g, has_request_context, request
from sqlalchemy import func, select

from ..admin import AUDIT_ATTRIBUTE
from ..admin.views import URL_PREFIX
from ..auth import caller_role
from ..extensions import db
from ..observability.metrics import REQUEST_ID_KEY
from ..paging import keyset_page, parse_limit
from ..timeutil import isoformat, utcnow
from .models import AuditEntry

log = logging.getLogger("service.audit")
PAGE_SIZE, MAX_PAGE_SIZE = 50, 500


def _context() -> dict[str, Any]:
    if not has_request_context():
        return {"source": "cli", "role": "shell", "request_id": None, "client_addr": None}
    return {
        "source": g.get("actor_source", "api"),
        # The console's session role, else the admin API caller's (service/auth.py).
        "role": g.get("actor_role") or caller_role() or "anonymous",
        "request_id": request.environ.get(REQUEST_ID_KEY),
        "client_addr": (request.remote_addr or "")[:64] or None,
    }


def record(
    action: str,
    target: str | None = None,
    status: int = 200,
    detail: dict | None = None,
    role: str | None = None,
    private_target: bool = False,
) -> AuditEntry | None:
    """Store one action and log it; never lets a bookkeeping failure undo the action.

    `role` overrides the request's (a sign-in decides it as it goes)."""
    context = _context()
    if role is not None:
        context["role"] = role
    entry = AuditEntry(
        at=utcnow(),
        action=action,
        target=target[:255] if target else None,
        status=status,
        detail=detail,
        **context,
    )
    try:
        db.session.add(entry)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("audit entry not stored: %s %s", action, target)
        return None
    # The detail (a filter may hold a recipient address) stays in the database.
    hidden = {"detail", "target"} if private_target else {"detail"}
    logged = {k: v for k, v in summary(entry).items() if k not in hidden}
    shown = "[customer data]" if private_target and target else target or "-"
    log.info("audit %s %s -> %s", action, shown, status, extra={"audit": logged})
    return entry


def after_admin_request(response: Response) -> Response:
    """Record every answered admin write (app.after_request, see __init__).

    Its action is the name the view was marked with (`service.admin.audited`),
    else the endpoint, so a write added without a mark is on record anyway.
    Only requests that got past the token check: no actor, no entry.
    """
    if request.method in ("GET", "HEAD", "OPTIONS") or caller_role() is None:
        return response
    if not request.path.startswith(URL_PREFIX) or request.endpoint is None:
        return response
    view = current_app.view_functions.get(request.endpoint)
    action, target_arg, private = getattr(view, AUDIT_ATTRIBUTE, (request.endpoint, None, False))
    view_args = request.view_args or {}
    if target_arg is None and len(view_args) == 1:  # unmarked: its one argument
        target_arg = next(iter(view_args))
    target = str(view_args[target_arg]) if target_arg in view_args else None
    if response.status_code >= 400:
        db.session.rollback()  # the failed unit of work must not block the record
    detail = g.pop("audit_detail", None)
    record(action, target, response.status_code, detail, private_target=private)
    return response


KEY = (AuditEntry.id,)


def page(
    limit: int | str | None = None, cursor: str | None = None
) -> tuple[list[AuditEntry], str | None]:
    """Newest first, keyset-paginated (service/paging.py: its cursor, its limit rule)."""
    limit = parse_limit(limit, PAGE_SIZE, MAX_PAGE_SIZE)
    return keyset_page(select(AuditEntry), KEY, limit, cursor)


def recent_count(action: str, client_addr: str | None, since: datetime) -> int:
    query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    query = query.where(AuditEntry.client_addr == client_addr, AuditEntry.at >= since)
    return int(db.session.scalar(query) or 0)


def summary(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": isoformat(entry.at),
        "action": entry.action,
        "target": entry.target,
        "source": entry.source,
        "role": entry.role,
        "status": entry.status,
        "detail": entry.detail,
        "request_id": entry.request_id,
        "client_addr": entry.client_addr,
    }
