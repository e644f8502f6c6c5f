"""Operators: list, show, reprocess (API and CLI); retention of old events."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import update

from jobs.retention import prune_all
from service.extensions import db
from service.timeutil import utcnow
from service.webhooks.models import WebhookEvent

from . import stripe_events as se
from .helpers import deliver, outbox_rows, stored_event

ADMIN_TOKEN = "admin-token-for-webhook-tests-0123456789"


def _ignored(n: int) -> list[dict]:
    events = [
        se.event("payment_intent.created", {"id": se.uid("pi"), "object": "payment_intent"})
        for _ in range(n)
    ]
    return events


def _failing(customer_id: str) -> dict:
    # The fake Stripe API does not know this customer: fetching it fails.
    return se.event(
        "customer.subscription.deleted", se.subscription(customer_id, status="canceled")
    )


def test_list_filters_and_paginates(wh):
    ignored, failing = _ignored(5), [_failing(f"cus_Unknown{n}") for n in range(2)]
    for evt in ignored:
        assert deliver(wh, evt).status_code == 200
    for evt in failing:
        assert deliver(wh, evt).status_code == 500

    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = wh.get("/v1/admin/webhook-events", query_string=query).get_json()
        seen += [e["id"] for e in page["events"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert seen[0] == failing[-1]["id"]  # newest first

    failed = wh.get("/v1/admin/webhook-events?status=failed").get_json()["events"]
    assert {e["id"] for e in failed} == {e["id"] for e in failing}
    assert all("No such customer" in e["error"] for e in failed)
    by_type = wh.get("/v1/admin/webhook-events?type=payment_intent.created").get_json()
    assert {e["id"] for e in by_type["events"]} == {e["id"] for e in ignored}
    assert by_type["next_cursor"] is None


def test_show_one_with_its_payload(wh):
    evt = _ignored(1)[0]
    deliver(wh, evt)
    shown = wh.get(f"/v1/admin/webhook-events/{evt['id']}").get_json()["event"]
    assert (shown["id"], shown["type"], shown["status"]) == (evt["id"], evt["type"], "ignored")
    assert shown["payload"] == evt
    assert shown["attempts"] == 1 and shown["error"] is None


def test_bad_admin_requests_are_clear_json_errors(wh):
    cases = {
        "/v1/admin/webhook-events?status=sideways": (400, "invalid_status"),
        "/v1/admin/webhook-events?limit=0": (400, "invalid_limit"),
        "/v1/admin/webhook-events?limit=abc": (400, "invalid_limit"),
        "/v1/admin/webhook-events?cursor=%%%": (400, "invalid_cursor"),
        "/v1/admin/webhook-events/evt_nope": (404, "unknown_event"),
    }
    for url, (status, code) in cases.items():
        response = wh.get(url)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code), url
    response = wh.post("/v1/admin/webhook-events/evt_nope/reprocess")
    assert (response.status_code, response.get_json()["error"]["code"]) == (404, "unknown_event")


def test_admin_routes_need_the_token_when_set(make_app, webhook_env):
    client = make_app(**webhook_env, ADMIN_TOKEN=ADMIN_TOKEN).test_client()
    for method, url in [
        ("get", "/v1/admin/webhook-events"),
        ("get", "/v1/admin/webhook-events/evt_x"),
        ("post", "/v1/admin/webhook-events/evt_x/reprocess"),
        ("post", "/v1/admin/webhook-events/reprocess"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 401, url
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    ok = client.get("/v1/admin/webhook-events", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert ok.status_code == 200


def test_cli_reprocesses_one_or_all_failed(webhook_app, wh, migrated, fake_stripe):
    runner = webhook_app.test_cli_runner()
    events = [_failing("cus_Cli1"), _failing("cus_Cli2")]
    for evt in events:
        assert deliver(wh, evt).status_code == 500

    still_failing = runner.invoke(args=["webhooks", "reprocess", events[0]["id"]])
    assert still_failing.exit_code == 1
    assert json.loads(still_failing.output)["result"] == "failed"

    fake_stripe.add_customer("cus_Cli1", "cli1@example.com")
    fake_stripe.add_customer("cus_Cli2", "cli2@example.com")
    one = runner.invoke(args=["webhooks", "reprocess", events[0]["id"]])
    assert one.exit_code == 0, one.output
    assert json.loads(one.output) == {"id": events[0]["id"], "result": "processed", "error": None}
    rest = runner.invoke(args=["webhooks", "reprocess", "--failed"])
    assert rest.exit_code == 0
    assert [json.loads(line)["id"] for line in rest.output.splitlines()] == [events[1]["id"]]
    for evt in events:
        assert len(outbox_rows(migrated, evt["id"])) == 1
    assert (
        runner.invoke(args=["webhooks", "reprocess", "--failed"]).output.strip()
        == "no failed events"
    )

    unknown = runner.invoke(args=["webhooks", "reprocess", "evt_unknown"])
    assert unknown.exit_code == 1 and "no stored webhook event" in unknown.output
    assert runner.invoke(args=["webhooks", "reprocess"]).exit_code == 2


def test_retention_prunes_old_processed_and_ignored_but_keeps_failed(webhook_app, wh, migrated):
    old_ignored, new_ignored = _ignored(2)
    old_failed = _failing("cus_Old")
    for evt in (old_ignored, new_ignored, old_failed):
        deliver(wh, evt)
    almost = se.event("payment_intent.created", {"id": se.uid("pi"), "object": "payment_intent"})
    deliver(wh, almost)
    with webhook_app.app_context():
        for event_id, age in [(old_ignored["id"], 40), (old_failed["id"], 40), (almost["id"], 3)]:
            db.session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id == event_id)
                .values(received_at=utcnow() - timedelta(days=age))
            )
        db.session.commit()
        pruned = prune_all(retention_days=1)
    assert pruned["webhook_events"] == 1
    assert stored_event(migrated, old_ignored["id"]) is None
    assert stored_event(migrated, old_failed["id"])["status"] == "failed"
    assert stored_event(migrated, new_ignored["id"]) is not None
    # Younger than Stripe's three days of retries: kept whatever RETENTION_DAYS says.
    assert stored_event(migrated, almost["id"]) is not None
