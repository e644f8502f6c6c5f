"""GET /v1/admin/audit: the trail, newest first (its own admin blueprint)."""

from __future__ import annotations

from flask import Response, jsonify, request

from ..admin import admin_blueprint
from ..errors import ApiError
from . import trail

admin = admin_blueprint("audit_admin", __name__)


@admin.get("/audit")
def list_audit() -> Response:
    raw = request.args.get("limit", str(trail.PAGE_SIZE))
    if not raw.isdigit() or not 1 <= int(raw) <= trail.MAX_PAGE_SIZE:
        raise ApiError(400, "invalid_limit", f"limit must be 1..{trail.MAX_PAGE_SIZE}.")
    rows, cursor = trail.page(int(raw), request.args.get("cursor") or None)
    return jsonify({"entries": [trail.summary(r) for r in rows], "next_cursor": cursor})
