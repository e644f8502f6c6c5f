"""Admin routes for the dead-letter queue (blueprint `email_admin`, under /v1/admin)."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request, stream_with_context

from ..admin import admin_blueprint, audited
from ..errors import ApiError
from ..paging import parse_limit
from . import dlq

admin = admin_blueprint("email_admin", __name__)

CSV = "text/csv"


def _filters() -> dlq.Filter:
    return dlq.Filter.from_args(request.args)


def _wants_csv() -> bool:
    if request.args.get("format"):
        return request.args["format"].lower() == "csv"
    return request.accept_mimetypes.best_match(["application/json", CSV]) == CSV


def _json_object() -> dict[str, Any]:
    """The body as a JSON object; none at all is {} (filters may come in the query)."""
    if not request.get_data(cache=True):
        return {}
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "The body must be a JSON object.")
    return body


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or "\x00" in value):
        raise ApiError(400, "invalid_body", f"{name} must be a string.")
    return value or None


@admin.get("/export-dead-letter")
def list_dead_letters() -> Response:
    filters = _filters()
    if _wants_csv():
        body = stream_with_context(dlq.csv_rows(dlq.iter_all(filters)))
        return Response(
            body,
            content_type=f"{CSV}; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="dead-letter.csv"'},
        )
    limit = parse_limit(request.args.get("limit"), dlq.PAGE_SIZE, dlq.MAX_PAGE_SIZE)
    rows, next_cursor = dlq.page(filters, limit, request.args.get("cursor"))
    return jsonify(
        {
            "messages": [dlq.summary(row) for row in rows],
            "next_cursor": next_cursor,
            "counts": dlq.counts(),
        }
    )


@admin.get("/export-dead-letter/<int:message_id>")
def get_dead_letter(message_id: int) -> Response:
    return jsonify(dlq.detail(dlq.get(message_id)))


@admin.post("/export-dead-letter/<int:message_id>/replay")
@audited("dlq.replay", target="message_id")
def replay_dead_letter(message_id: int) -> tuple[Response, int]:
    message = dlq.replay(message_id)
    return jsonify(dlq.summary(message)), 202


@admin.post("/export-dead-letter/replay")
@audited("dlq.replay_matching")
def replay_dead_letters() -> tuple[Response, int]:
    """Bulk replay by filter: JSON body or query string, `status` required."""
    body = _json_object()
    status = _text(body, "status") or request.args.get("status")
    template = _text(body, "template") or request.args.get("template")
    if not status:
        raise ApiError(400, "status_required", "Say which messages: status pending or dead.")
    given = {name: _text(body, name) for name in dlq.FILTER_ARGS}
    args = {**request.args.to_dict(), **{k: v for k, v in given.items() if v is not None}}
    filters = dlq.Filter.from_args(args)
    result = dlq.replay_matching(filters)
    g.audit_detail = {**result, "filter": filters.as_args()}
    return jsonify({**result, "status": status, "template": template}), 202
