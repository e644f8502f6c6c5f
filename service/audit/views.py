"""GET /v1/admin/audit: the trail, newest first (its own admin blueprint)."""

from __future__ import annotations

from flask import Response, jsonify, request

from ..admin import admin_blueprint
from . import trail

admin = admin_blueprint("audit_admin", __name__)


@admin.get("/audit")
def list_audit() -> Response:
    rows, cursor = trail.page(request.args.get("limit"), request.args.get("cursor") or None)
    return jsonify({"entries": [trail.summary(r) for r in rows], "next_cursor": cursor})
