"""Blueprints `webhooks` (POST /v1/webhooks/stripe) and `webhooks_admin` (stored events)."""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, current_app, g, jsonify, request

from ..admin import admin_blueprint, audited
from ..errors import ApiError
from ..extensions import db
from ..observability.logging import note_for_access_log
from ..paging import parse_limit
from . import listing, metrics
from .models import WebhookEvent
from .outcomes import WebhookError
from .receive import apply_bounded, verified_event
from .reprocess import reprocess_failed, reprocess_known, tally
from .statuses import FAILED, PROCESSING_ERROR

admin = admin_blueprint("webhooks_admin", __name__)

log = logging.getLogger(__name__)
webhooks = Blueprint("webhooks", __name__, url_prefix="/v1/webhooks")


@webhooks.post("/stripe")
def stripe_webhook() -> Response:
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug LocalProxy API
    try:
        event = verified_event(request, app)
        outcome = apply_bounded(event, app)
    except WebhookError as exc:
        metrics.count(exc.result, exc.error_type)
        note_for_access_log(request.environ, result=exc.result, error=exc.code)
        log.warning("stripe webhook %s: %s (%s)", exc.result, exc.code, exc.message)
        raise
    except Exception:
        metrics.count(FAILED, PROCESSING_ERROR)
        raise
    metrics.count(outcome.result)
    # The outcome travels in the request's access-log line: one line per event.
    note_for_access_log(
        request.environ, event_id=event.id, event_type=event.type, result=outcome.result
    )
    return _answer({"received": True, "id": event.id, "result": outcome.result})


def _answer(body: dict[str, object]) -> Response:
    # What jsonify writes (compact, ASCII, a trailing newline) without its
    # provider lookups through the app context: Stripe reads only the status.
    return Response(json.dumps(body, separators=(",", ":")) + "\n", mimetype="application/json")


def _limit(default: int = listing.DEFAULT_LIMIT) -> int:
    return parse_limit(request.args.get("limit"), default, listing.MAX_LIMIT)


def _unknown(event_id: str) -> ApiError:
    return ApiError(404, "unknown_event", f"No stored webhook event {event_id!r}.")


@admin.get("/webhook-events")
def list_webhook_events() -> Response:
    rows, cursor = listing.list_events(
        request.args.get("status") or None,
        request.args.get("type") or None,
        _limit(),
        request.args.get("cursor") or None,
    )
    return jsonify({"events": [listing.summary(r) for r in rows], "next_cursor": cursor})


@admin.get("/webhook-events/<event_id>")
def show_webhook_event(event_id: str) -> Response:
    row = db.session.get(WebhookEvent, event_id)
    if row is None:
        raise _unknown(event_id)
    return jsonify({"event": listing.detail(row)})


@admin.post("/webhook-events/<event_id>/reprocess")
@audited("webhooks.reprocess", target="event_id")
def reprocess_webhook_event(event_id: str) -> Response:
    outcome = reprocess_known(event_id)
    row = db.session.get_one(WebhookEvent, event_id, populate_existing=True)
    return jsonify({"result": outcome.result, "event": listing.summary(row)})


@admin.post("/webhook-events/reprocess")
@audited("webhooks.reprocess_failed")
def reprocess_failed_webhook_events() -> Response:
    """Every failed event (oldest first, at most `limit`), as after an outage."""
    results = reprocess_failed(_limit(default=100))
    counts = tally(results)
    events = [{"id": r.event_id, "result": r.result, "error": r.error} for r in results]
    g.audit_detail = {"results": counts}
    return jsonify({"results": counts, "events": events})
