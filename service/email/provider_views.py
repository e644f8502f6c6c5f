"""POST /v1/webhooks/sendgrid, and the admin routes for suppressions and
template previews (on the `admin` blueprint)."""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, current_app, jsonify, request

from ..admin import admin_blueprint, audited
from ..errors import ApiError
from ..extensions import db
from . import provider_events, suppression
from .samples import SAMPLES
from .templates import TEMPLATES, render

log = logging.getLogger(__name__)
admin = admin_blueprint("email_provider_admin", __name__)
sendgrid_webhooks = Blueprint("sendgrid_webhooks", __name__, url_prefix="/v1/webhooks")


def _verified_events() -> list:
    key = current_app.config["SETTINGS"].sendgrid_webhook_public_key
    if key is None:  # nothing can be verified: refuse loudly, never accept
        raise ApiError(
            500,
            "server_misconfigured",
            "SENDGRID_WEBHOOK_PUBLIC_KEY is not configured; events cannot be verified.",
        )
    body = request.get_data(cache=False)
    try:
        valid = provider_events.verify(
            key,
            request.headers.get(provider_events.SIGNATURE_HEADER),
            request.headers.get(provider_events.TIMESTAMP_HEADER),
            body,
        )
    except provider_events.BadKey:
        raise ApiError(
            500, "server_misconfigured", "SENDGRID_WEBHOOK_PUBLIC_KEY is not an EC public key."
        ) from None
    if not valid:
        raise ApiError(400, "invalid_signature", "The SendGrid event signature does not verify.")
    try:
        events = json.loads(body)
    except ValueError:
        raise ApiError(400, "invalid_payload", "The body is not JSON.") from None
    if not isinstance(events, list):
        raise ApiError(400, "invalid_payload", "Expected a JSON array of events.")
    return events


@sendgrid_webhooks.post("/sendgrid")
def sendgrid_webhook() -> Response:
    events = _verified_events()
    tally = provider_events.apply(events)
    db.session.commit()
    log.info("sendgrid events: %s", tally, extra={"tally": tally})
    return jsonify({"received": len(events), "tally": tally})


@admin.get("/suppressions")
def list_suppressions() -> Response:
    limit = request.args.get("limit", suppression.PAGE_SIZE, type=int)
    rows, next_cursor = suppression.page(limit, request.args.get("cursor"))
    body = {"suppressions": [suppression.describe(r) for r in rows], "next_cursor": next_cursor}
    db.session.commit()
    return jsonify(body)


@admin.delete("/suppressions/<path:address>")
@audited("suppressions.remove", target="address", private=True)
def remove_suppression(address: str) -> Response:
    removed = suppression.unsuppress(address)
    db.session.commit()
    if not removed:
        raise ApiError(404, "not_found", "That address is not suppressed.")
    return jsonify({"address": suppression.normalize(address), "removed": True})


@admin.get("/email-templates/<name>/preview")
def preview_template(name: str) -> Response:
    if name not in TEMPLATES:
        raise ApiError(404, "not_found", f"No template {name!r}; known: {', '.join(TEMPLATES)}.")
    email = render(name, SAMPLES[name])
    return jsonify(
        {"template": name, "subject": email.subject, "text": email.text, "html": email.html}
    )
