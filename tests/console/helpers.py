"""Signing in to the console with the Flask test client, and reading its forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from service.extensions import db
from service.webhooks.event import content_hash
from service.webhooks.models import WebhookEvent
from tests.webhooks import stripe_events as se

ADMIN_TOKEN = "console-admin-token-0123456789abcdef"
READONLY_TOKEN = "console-readonly-token-fedcba9876543210"
TOKENS = {"ADMIN_TOKEN": ADMIN_TOKEN, "ADMIN_READONLY_TOKEN": READONLY_TOKEN}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: Any, token: str) -> Any:
    page = client.get("/console/sign-in")
    return client.post(
        "/console/sign-in", data={"csrf_token": csrf_token(page.text), "token": token}
    )


def post_form(client: Any, path: str, data: dict | None = None, page: str = "/console/") -> Any:
    """POST as the browser would: with the CSRF token of a page just seen."""
    token = csrf_token(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **(data or {})})


def post_forms(html: str) -> list[str]:
    """The action of every POST form on a page."""
    return re.findall(r'<form method="post" action="([^"]+)"', html)


def store_event(status: str = "failed", **payload_extra: Any) -> str:
    """A stored Stripe event (an unhandled type: reprocessing it ends `ignored`)."""
    obj = {"id": se.uid("pi"), "object": "payment_intent", **payload_extra}
    payload = se.event("payment_intent.created", obj)
    db.session.add(
        WebhookEvent(
            id=payload["id"],
            type=payload["type"],
            created=datetime.fromtimestamp(payload["created"], UTC),
            livemode=False,
            api_version=payload["api_version"],
            payload=payload,
            content_hash=content_hash(payload),
            status=status,
            error="RuntimeError: boom" if status == "failed" else None,
            attempts=1,
        )
    )
    db.session.commit()
    return payload["id"]
