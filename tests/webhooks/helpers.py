"""Reading what a delivery left behind: HTTP answers, counters, rows.

`outbox_rows(database_url, event_id)` is the one to extend once the email
dispatcher is merged: it returns the outbox rows an event queued, straight
from the database the service processes (in-process or under Gunicorn).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from service.config import normalize_database_url
from tests.helpers import samples

from .stripe_events import SECRET, body, sign

WEBHOOK_PATH = "/v1/webhooks/stripe"
RESULTS = ("processed", "duplicate", "ignored", "rejected", "failed")
ERROR_TYPES = ("invalid_signature", "payload_mismatch", "processing_error")
STATE_TABLES = (
    "webhook_event",
    "billing_customer",
    "billing_subscription",
    "billing_invoice",
    "billing_charge_refund",
    "email_message",
)


def post(client: Any, payload: bytes, header: str | None, **headers: str) -> Any:
    sent = {"Content-Type": "application/json", **headers}
    if header is not None:
        sent["Stripe-Signature"] = header
    return client.post(WEBHOOK_PATH, data=payload, headers=sent)


def deliver(client: Any, event: dict, secret: str = SECRET, timestamp: int | None = None) -> Any:
    payload = body(event)
    response = post(client, payload, sign(payload, secret, timestamp))
    response.sent_event = event  # what was delivered, for checks on the answer
    return response


def webhook_counters(metrics_text: str) -> dict[str, float]:
    """{"result:processed": n, ..., "type:invalid_signature": n, ...} from a scrape."""
    parsed = samples(metrics_text)
    values = {}
    for result in RESULTS:
        value = parsed.get(("webhook_events_total", (("result", result),)))
        values[f"result:{result}"] = value or 0.0
    for error_type in ERROR_TYPES:
        value = parsed.get(("webhook_errors_total", (("type", error_type),)))
        values[f"type:{error_type}"] = value or 0.0
    return values


def scrape(client: Any) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return webhook_counters(response.get_data(as_text=True))


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before[key] for key in after if after[key] != before[key]}


def _queries(database_url: str, *statements: tuple[str, dict]) -> list[list[dict[str, Any]]]:
    engine = create_engine(normalize_database_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [
                [dict(row._mapping) for row in conn.execute(text(sql), params)]
                for sql, params in statements
            ]
    finally:
        engine.dispose()


def _query(database_url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    return _queries(database_url, (sql, params))[0]


def outbox_rows(database_url: str, event_id: str) -> list[dict[str, Any]]:
    """The outbox rows event `event_id` queued (key `<event id>:<template>`)."""
    return _query(
        database_url,
        "SELECT * FROM email_message WHERE idempotency_key LIKE :prefix ORDER BY id",
        prefix=f"{event_id}:%",
    )


def stored_event(database_url: str, event_id: str) -> dict[str, Any] | None:
    rows = _query(database_url, "SELECT * FROM webhook_event WHERE id = :id", id=event_id)
    return rows[0] if rows else None


def row_counts(database_url: str) -> dict[str, int]:
    counts = _queries(
        database_url,
        *((f"SELECT COUNT(*) AS n FROM {table}", {}) for table in STATE_TABLES),  # noqa: S608
    )
    return {table: result[0]["n"] for table, result in zip(STATE_TABLES, counts, strict=True)}


def rows(database_url: str, table: str) -> list[dict[str, Any]]:
    assert table in STATE_TABLES
    return _query(database_url, f"SELECT * FROM {table}")  # noqa: S608
