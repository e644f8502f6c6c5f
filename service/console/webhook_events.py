"""Stored Stripe events: failed and recent, payload masked; reprocess one or all failed."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ..extensions import db
from ..webhooks import listing
from ..webhooks.models import WebhookEvent
from ..webhooks.reprocess import reprocess_failed, reprocess_known, tally
from ..webhooks.statuses import FAILED, STATUSES
from . import masking
from .actions import act
from .blueprint import PAGE_SIZES, console, page_size

REPROCESS_BATCH = 100  # the admin API's default for "all failed"


@console.get("/webhook-events")
def webhook_events() -> str:
    status = request.args.get("status") or None
    event_type = (request.args.get("type") or "").strip() or None
    limit = page_size()
    rows, cursor = listing.list_events(status, event_type, limit, request.args.get("cursor"))
    return render_template(
        "console/webhook_events.html",
        rows=[listing.summary(r) for r in rows],
        args={k: v for k, v in {"status": status, "type": event_type}.items() if v},
        limit=limit,
        page_sizes=PAGE_SIZES,
        statuses=STATUSES,
        next_cursor=cursor,
        deeper=bool(request.args.get("cursor")),
        failed=listing.count_status(FAILED),
    )


@console.get("/webhook-events/<event_id>")
def webhook_event(event_id: str) -> str:
    row = db.session.get(WebhookEvent, event_id)
    if row is None:
        abort(404, f"No stored webhook event {event_id!r}.")
    event = listing.detail(row)
    return render_template(
        "console/webhook_event.html", e=event, payload=masking.pretty(event["payload"])
    )


@console.post("/webhook-events/<event_id>/reprocess")
def reprocess_one(event_id: str) -> Response:
    act(
        "webhooks.reprocess",
        event_id,
        lambda: reprocess_known(event_id),
        lambda r: f"Event {event_id}: {r.result}" + (f" ({r.error})" if r.error else "."),
    )
    return redirect(url_for("console.webhook_event", event_id=event_id), 303)


@console.post("/webhook-events/reprocess")
def reprocess_all() -> Response:
    act(
        "webhooks.reprocess_failed",
        None,
        lambda: tally(reprocess_failed(REPROCESS_BATCH)),
        lambda c: (
            "Reprocessed failed events: "
            + (", ".join(f"{n} {r}" for r, n in sorted(c.items())) or "none were failed.")
        ),
        detail=lambda c: {"results": c},
    )
    return redirect(url_for("console.webhook_events", status=FAILED), 303)
