"""The demo's story, delivered in-process: every handled type, five emails."""

from __future__ import annotations

from demo import events, outbox
from service.config import normalize_database_url
from service.email.templates import TEMPLATES
from service.webhooks.handlers import HANDLERS

SECRET = "whsec_demo_test_0123456789abcdef0123"


def test_the_story_has_one_event_of_each_handled_type():
    types = [e["type"] for e in events.story()]
    assert sorted(types) == sorted(HANDLERS)
    created = [e["created"] for e in events.story(now=1_800_000_000)]
    assert created == sorted(set(created))  # strictly newer, as Stripe would send them


def test_the_story_is_processed_and_queues_the_five_emails(make_app, migrated):
    client = make_app(STRIPE_WEBHOOK_SECRET=SECRET).test_client()
    story = events.story()
    for event in story:
        payload, headers = events.signed(event, SECRET)
        response = client.post("/v1/webhooks/stripe", data=payload, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["result"] == "processed", event["type"]

    rows = outbox.messages(normalize_database_url(migrated), [e["id"] for e in story])
    assert sorted(r["template"] for r in rows) == sorted(TEMPLATES)
    cause = {e["id"]: e["type"] for e in story}
    assert {r["template"]: cause[r["event_id"]] for r in rows} == {
        "receipt": "invoice.paid",
        "payment_failed": "invoice.payment_failed",
        "subscription_canceled": "customer.subscription.deleted",
        "trial_ending": "customer.subscription.trial_will_end",
        "refund_issued": "charge.refunded",
    }
    for row in rows:
        assert row["recipient"] == events.CUSTOMER_EMAIL
        assert row["status"] == "queued" and row["backend"] is None  # no worker here
        assert row["subject"] and "does not render" not in row["subject"]
        assert row["body"] and not any(line.startswith(("Hi ", "--")) for line in row["body"])
    receipt = next(r for r in rows if r["template"] == "receipt")
    assert any("Thank you for your payment of $20.00" in line for line in receipt["body"])


def test_a_second_run_is_new_events_not_duplicates():
    first, second = events.story(), events.story()
    assert not {e["id"] for e in first} & {e["id"] for e in second}
