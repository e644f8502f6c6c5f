"""The floor any correct Stripe webhook handler pays (bench row 1).

A minimal Flask app: verify the signature with the Stripe library, parse
the JSON, then three SQL statements in one transaction on the same
PostgreSQL database as the service: store the event (deduplicated by id),
upsert the invoice, queue the email. One psycopg connection per request
thread, opened on first use (after the fork). Served with the service's
worker settings and no logging (bench/apps/gunicorn_bare.py).
"""

from __future__ import annotations

import json
import os
import threading

import psycopg
from flask import Flask, Response, abort, jsonify, request
from psycopg.types.json import Jsonb
from stripe import SignatureVerificationError, WebhookSignature

SCHEMA = """
CREATE TABLE IF NOT EXISTS floor_event (id text PRIMARY KEY, type text NOT NULL,
    payload jsonb NOT NULL, received_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS floor_invoice (id text PRIMARY KEY, customer text NOT NULL,
    status text NOT NULL, amount_paid bigint NOT NULL, event_created bigint NOT NULL);
CREATE TABLE IF NOT EXISTS floor_outbox (key text PRIMARY KEY, recipient text NOT NULL,
    context jsonb NOT NULL, status text NOT NULL DEFAULT 'queued');
"""
app = Flask(__name__)
_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
_local = threading.local()


def connection() -> psycopg.Connection:
    if getattr(_local, "conn", None) is None:
        url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        _local.conn = psycopg.connect(url)
    return _local.conn


@app.get("/healthz")
def healthz() -> Response:  # the bench waits for it before loading
    return jsonify({"status": "ok"})


@app.post("/v1/webhooks/stripe")
def stripe_webhook() -> Response:
    text = request.get_data(as_text=True)
    try:
        WebhookSignature.verify_header(
            text, request.headers.get("Stripe-Signature", ""), _SECRET, 300
        )
    except SignatureVerificationError:
        abort(400)
    event = json.loads(text)
    invoice = event["data"]["object"]
    conn = connection()
    with conn.transaction():
        stored = conn.execute(
            "INSERT INTO floor_event (id, type, payload) VALUES (%s, %s, %s)"
            " ON CONFLICT (id) DO NOTHING RETURNING id",
            (event["id"], event["type"], Jsonb(event)),
        ).fetchone()
        if stored is not None:
            conn.execute(
                "INSERT INTO floor_invoice VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE"
                " SET status = excluded.status, amount_paid = excluded.amount_paid,"
                " event_created = excluded.event_created",
                (
                    invoice["id"],
                    invoice["customer"],
                    invoice["status"],
                    invoice["amount_paid"],
                    event["created"],
                ),
            )
            conn.execute(
                "INSERT INTO floor_outbox (key, recipient, context) VALUES (%s, %s, %s)",
                (f"{event['id']}:receipt", invoice["customer_email"], Jsonb(invoice)),
            )
    return jsonify({"received": True, "id": event["id"]})


def create_schema(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(SCHEMA)
