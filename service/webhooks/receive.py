"""POST /v1/webhooks/stripe from request to outcome, in this order
(README, "Webhooks"):
configured? -> size -> signature -> JSON -> Stripe event -> consistent -> apply."""

from __future__ import annotations

import time

from flask import Flask, Request

from ..db import run_bounded
from .event import StripeEvent, content_hash, parse_event
from .handlers import validate
from .outcomes import WebhookError
from .processing import Outcome, is_database_unavailable, process
from .statuses import FAILED, PROCESSING_ERROR
from .verify import (
    MAX_BODY_BYTES,
    check_mode,
    decode,
    read_body,
    require_secrets,
    too_large,
    verify_signature,
)

# Database trouble answers 503 within 5 s (README, "Webhooks"). The bound covers the
# whole unit of work (reads, the Stripe API call, the write transaction),
# leaving margin for the request around it.
DATABASE_BOUND_SECONDS = 4.0


def verified_event(request: Request, app: Flask) -> StripeEvent:
    """The event in the request, or a WebhookError saying why not."""
    settings = app.config["SETTINGS"]
    secrets = require_secrets(settings)
    # The declared length first: reading request.stream would otherwise let
    # the app-wide 1 MiB limit answer before this endpoint counts a rejection.
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise too_large()
    text = decode(read_body(request.stream, length))
    header = request.headers.get("Stripe-Signature")
    verify_signature(text, header, secrets, settings.stripe_webhook_tolerance_seconds)
    event = parse_event(text)
    check_mode(event, settings)
    validate(event)
    return event


def _unavailable() -> WebhookError:
    return WebhookError(
        503,
        "database_unavailable",
        "The database did not answer in time; nothing was stored. Retry later.",
        result=FAILED,
        error_type=PROCESSING_ERROR,
    )


def _failed(event: StripeEvent) -> WebhookError:
    return WebhookError(
        500,
        PROCESSING_ERROR,
        f"Event {event.id} could not be processed. It is stored as failed and runs "
        "again on the next delivery or an admin reprocess.",
        result=FAILED,
        error_type=PROCESSING_ERROR,
    )


def apply_bounded(event: StripeEvent, app: Flask) -> Outcome:
    deadline = time.monotonic() + DATABASE_BOUND_SECONDS
    digest = content_hash(event.payload)
    try:
        outcome = run_bounded(lambda: process(event, digest, deadline), DATABASE_BOUND_SECONDS, app)
    except WebhookError:
        raise
    except Exception as exc:
        if is_database_unavailable(exc):
            raise _unavailable() from None
        raise
    if outcome.result == FAILED:
        raise _failed(event)
    return outcome
