"""Customer addresses from the Stripe API (a local fake in its wire format),
through the `stripe` breaker: outages fail events with 500, reprocess heals."""

from __future__ import annotations

import time

from . import stripe_events as se
from .conftest import API_KEY
from .helpers import deliver, delta, outbox_rows, rows, scrape, stored_event


def _deleted(customer_id: str) -> dict:
    sub = se.subscription(customer_id, status="canceled", canceled_at=se.NOW - 5)
    return se.event("customer.subscription.deleted", sub)


def _circuit(database_url: str) -> dict:
    from .helpers import _query

    found = _query(database_url, "SELECT * FROM circuit WHERE name = 'stripe'")
    return found[0] if found else {"state": "closed", "consecutive_failures": 0}


def test_address_is_fetched_once_then_stored(wh, migrated, fake_stripe):
    fake_stripe.add_customer("cus_Api1", "api1@example.com", "Api One")
    first, second = _deleted("cus_Api1"), _deleted("cus_Api1")
    assert deliver(wh, first).status_code == 200
    assert deliver(wh, second).status_code == 200
    assert fake_stripe.hits() == 1  # the second found the stored customer
    assert fake_stripe.requests[0] == ("GET", "/v1/customers/cus_Api1")
    for evt in (first, second):
        [mail] = outbox_rows(migrated, evt["id"])
        assert mail["recipient"] == "api1@example.com"
    [customer] = rows(migrated, "billing_customer")
    assert (customer["email"], customer["name"]) == ("api1@example.com", "Api One")


def test_customer_without_email_is_processed_without_mail(wh, migrated, fake_stripe):
    fake_stripe.add_customer("cus_NoMail", None)
    evt = _deleted("cus_NoMail")
    assert deliver(wh, evt).status_code == 200
    assert stored_event(migrated, evt["id"])["status"] == "processed"
    assert outbox_rows(migrated, evt["id"]) == []


def test_unknown_customer_is_a_processing_error_but_not_an_outage(wh, migrated, fake_stripe):
    before = scrape(wh)
    evt = _deleted("cus_Missing")
    response = deliver(wh, evt)
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "processing_error"
    assert delta(before, scrape(wh)) == {"result:failed": 1, "type:processing_error": 1}
    stored = stored_event(migrated, evt["id"])
    assert stored["status"] == "failed"
    assert "404" in stored["error"] and "No such customer" in stored["error"]
    assert _circuit(migrated)["consecutive_failures"] == 0  # Stripe answered


def test_outage_opens_the_breaker_and_reprocess_applies_once(make_app, migrated, fake_stripe):
    app = make_app(
        STRIPE_WEBHOOK_SECRET=se.SECRET,
        STRIPE_API_KEY=API_KEY,
        STRIPE_API_BASE=fake_stripe.base,
        CIRCUIT_FAILURE_THRESHOLD="2",
        CIRCUIT_RESET_SECONDS="1",
    )
    client = app.test_client()
    for n in (1, 2, 3):
        fake_stripe.add_customer(f"cus_Out{n}", f"out{n}@example.com")
    events = [_deleted(f"cus_Out{n}") for n in (1, 2, 3)]
    fake_stripe.mode = "down"

    statuses = [deliver(client, evt).status_code for evt in events]
    assert statuses == [500, 500, 500]
    assert fake_stripe.hits() == 2  # the third found the breaker open: no call
    assert _circuit(migrated)["state"] == "open"
    errors = [stored_event(migrated, evt["id"])["error"] for evt in events]
    assert "500" in errors[0] and "circuit 'stripe' is open" in errors[2]
    assert all(outbox_rows(migrated, evt["id"]) == [] for evt in events)

    fake_stripe.mode = "up"
    time.sleep(1.1)  # CIRCUIT_RESET_SECONDS: the next call is the half-open trial
    reprocessed = client.post("/v1/admin/webhook-events/reprocess")
    assert reprocessed.status_code == 200
    assert reprocessed.get_json()["results"] == {"processed": 3}
    assert _circuit(migrated)["state"] == "closed"
    for n, evt in enumerate(events, start=1):
        [mail] = outbox_rows(migrated, evt["id"])
        assert (mail["template"], mail["recipient"]) == (
            "subscription_canceled",
            f"out{n}@example.com",
        )
        assert stored_event(migrated, evt["id"])["status"] == "processed"

    # Again, and Stripe's own late retry: nothing more happens.
    again = client.post("/v1/admin/webhook-events/reprocess").get_json()
    assert again == {"results": {}, "events": []}
    one = client.post(f"/v1/admin/webhook-events/{events[0]['id']}/reprocess").get_json()
    assert one["result"] == "unchanged"
    assert deliver(client, events[0]).get_json()["result"] == "duplicate"
    assert sum(len(outbox_rows(migrated, evt["id"])) for evt in events) == 3


def test_a_hanging_api_times_out_and_counts_against_the_breaker(wh, migrated, fake_stripe):
    fake_stripe.add_customer("cus_Slow", "slow@example.com")
    fake_stripe.mode, fake_stripe.hang_seconds = "hang", 3.0
    evt = _deleted("cus_Slow")
    started = time.monotonic()
    response = deliver(wh, evt)
    assert response.status_code == 500
    assert time.monotonic() - started < 4.0  # the 2 s client timeout, well inside 5 s
    assert _circuit(migrated)["consecutive_failures"] == 1
    assert "APIConnectionError" in stored_event(migrated, evt["id"])["error"]


def test_without_an_api_key_the_event_waits_with_a_clear_error(make_app, migrated, fake_stripe):
    client = make_app(STRIPE_WEBHOOK_SECRET=se.SECRET).test_client()
    evt = _deleted("cus_NoKey")
    assert deliver(client, evt).status_code == 500
    assert "STRIPE_API_KEY is not configured" in stored_event(migrated, evt["id"])["error"]
    assert fake_stripe.hits() == 0
    assert _circuit(migrated)["consecutive_failures"] == 0


def test_wrong_api_key_is_refused_by_stripe_not_an_outage(make_app, migrated, fake_stripe):
    client = make_app(
        STRIPE_WEBHOOK_SECRET=se.SECRET,
        STRIPE_API_KEY="sk_test_wrong_key_0000000000",
        STRIPE_API_BASE=fake_stripe.base,
    ).test_client()
    fake_stripe.add_customer("cus_Key", "key@example.com")
    evt = _deleted("cus_Key")
    assert deliver(client, evt).status_code == 500
    error = stored_event(migrated, evt["id"])["error"]
    assert "401" in error and "AuthenticationError" in error
    assert "sk_test_wrong_key_0000000000" not in error
    assert _circuit(migrated)["consecutive_failures"] == 0
