"""Every handled event type, shaped like Stripe's and signed with its library."""

from __future__ import annotations

import json
import time

import pytest

from service.email.templates import render

from . import stripe_events as se
from .helpers import deliver, delta, outbox_rows, rows, scrape, stored_event


def _ok(response, result: str = "processed") -> None:
    """200 with the id of the event that was delivered (as the test built it,
    not as the answer says) and the expected result."""
    assert response.status_code == 200, response.get_data(as_text=True)
    sent = response.sent_event["id"]
    assert response.get_json() == {"received": True, "id": sent, "result": result}


def test_customer_created_then_updated(wh, migrated):
    customer = se.customer(email="old@example.com", name="Old Name")
    created = se.event("customer.created", customer)
    _ok(deliver(wh, created))
    updated = se.event(
        "customer.updated",
        {**customer, "email": "new@example.com", "name": "New Name"},
        created=created["created"] + 5,
        previous_attributes={"email": "old@example.com", "name": "Old Name"},
    )
    _ok(deliver(wh, updated))
    [row] = rows(migrated, "billing_customer")
    assert (row["id"], row["email"], row["name"]) == (customer["id"], "new@example.com", "New Name")
    assert row["event_created"] == updated["created"]
    assert stored_event(migrated, updated["id"])["status"] == "processed"
    assert rows(migrated, "email_message") == []  # customer events send nothing


def test_checkout_completed_remembers_the_customer(wh, migrated):
    session = se.checkout_session("cus_Checkout123")
    _ok(deliver(wh, se.event("checkout.session.completed", session)))
    [row] = rows(migrated, "billing_customer")
    assert (row["id"], row["email"], row["name"]) == (
        "cus_Checkout123",
        "jenny.rosen@example.com",
        "Jenny Rosen",
    )
    assert row["event_created"] is None  # a snapshot: any customer.* event wins


def test_subscription_lifecycle(wh, migrated):
    sub = se.subscription("cus_Sub1", status="trialing", trial_end=se.NOW + 3 * 86400)
    _ok(deliver(wh, se.event("customer.subscription.created", sub, created=se.NOW - 50)))
    changed = {**sub, "status": "active", "cancel_at_period_end": True, "trial_end": se.NOW - 10}
    _ok(deliver(wh, se.event("customer.subscription.updated", changed, created=se.NOW - 40)))
    [row] = rows(migrated, "billing_subscription")
    assert row["status"] == "active"
    assert bool(row["cancel_at_period_end"]) is True
    assert row["customer_id"] == "cus_Sub1"
    assert row["current_period_end"] is not None
    assert rows(migrated, "email_message") == []


def test_subscription_deleted_sends_subscription_canceled(wh, migrated):
    customer = se.customer(email="ann@example.com", name="Ann")
    _ok(deliver(wh, se.event("customer.created", customer, created=se.NOW - 90)))
    sub = se.subscription(
        customer["id"],
        status="canceled",
        canceled_at=se.NOW - 30,
        ended_at=se.NOW - 30,
        cancellation_details={
            "comment": None,
            "feedback": None,
            "reason": "cancellation_requested",
        },
    )
    deleted = se.event("customer.subscription.deleted", sub, created=se.NOW - 30)
    _ok(deliver(wh, deleted))
    [mail] = outbox_rows(migrated, deleted["id"])
    assert mail["idempotency_key"] == f"{deleted['id']}:subscription_canceled"
    assert (mail["template"], mail["recipient"]) == ("subscription_canceled", "ann@example.com")
    context = _context(mail)
    assert context["customer_name"] == "Ann"
    assert context["subscription_id"] == sub["id"]
    assert context["plan_name"] == "Pro monthly"
    assert context["cancellation_reason"] == "cancellation_requested"
    assert context["canceled_at"].endswith("Z")
    [row] = rows(migrated, "billing_subscription")
    assert row["status"] == "canceled"


def test_trial_will_end_sends_trial_ending(wh, migrated, fake_stripe):
    fake_stripe.add_customer("cus_Trial1", "trial@example.com", "Tria")
    trial_end = se.NOW + 3 * 86400
    sub = se.subscription(
        "cus_Trial1", status="trialing", trial_end=trial_end, trial_start=se.NOW - 86400
    )
    evt = se.event("customer.subscription.trial_will_end", sub)
    _ok(deliver(wh, evt))
    [mail] = outbox_rows(migrated, evt["id"])
    assert (mail["template"], mail["recipient"]) == ("trial_ending", "trial@example.com")
    context = _context(mail)
    assert context["customer_name"] == "Tria"
    # ISO-8601 UTC with a Z, written out here rather than by the code under test.
    expected = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(trial_end))
    assert context["trial_end"] == expected
    assert fake_stripe.hits() == 1  # the address came from the Stripe API


def test_invoice_paid_sends_receipt(wh, migrated):
    inv = se.invoice("cus_Inv1", amount_paid=4599, amount_due=4599, currency="eur")
    evt = se.event("invoice.paid", inv)
    _ok(deliver(wh, evt))
    [mail] = outbox_rows(migrated, evt["id"])
    assert (mail["template"], mail["recipient"]) == ("receipt", "jenny.rosen@example.com")
    context = _context(mail)
    assert (context["amount_paid"], context["currency"]) == (4599, "eur")
    assert context["hosted_invoice_url"] == inv["hosted_invoice_url"]
    assert inv["hosted_invoice_url"] in render("receipt", context).text  # the link is shown
    assert context["invoice_number"] == "7D2C1B4A-0001"
    assert context["customer_name"] == "Jenny Rosen"
    assert context["paid_at"] is not None
    [row] = rows(migrated, "billing_invoice")
    assert (row["status"], row["amount_paid"], row["currency"]) == ("paid", 4599, "eur")
    assert row["hosted_invoice_url"] == inv["hosted_invoice_url"]
    assert row["subscription_id"] == inv["subscription"]


def test_invoice_payment_failed_sends_payment_failed(wh, migrated):
    inv = se.invoice(
        "cus_Inv2",
        status="open",
        paid=False,
        amount_paid=0,
        amount_remaining=2000,
        attempt_count=2,
        next_payment_attempt=se.NOW + 86400,
    )
    evt = se.event("invoice.payment_failed", inv)
    _ok(deliver(wh, evt))
    [mail] = outbox_rows(migrated, evt["id"])
    assert mail["template"] == "payment_failed"
    context = _context(mail)
    assert (context["amount_due"], context["attempt_count"]) == (2000, 2)
    assert inv["hosted_invoice_url"] in render("payment_failed", context).text
    assert context["next_payment_attempt"] is not None
    [row] = rows(migrated, "billing_invoice")
    assert row["status"] == "open"


def test_charge_refunded_sends_refund_issued(wh, migrated):
    ch = se.charge("cus_Ch1")
    evt = se.event("charge.refunded", ch)
    _ok(deliver(wh, evt))
    [mail] = outbox_rows(migrated, evt["id"])
    assert (mail["template"], mail["recipient"]) == ("refund_issued", "jenny.rosen@example.com")
    context = _context(mail)
    assert (context["refund_amount"], context["amount_refunded"], context["currency"]) == (
        500,
        500,
        "usd",
    )
    assert context["refund_id"] == ch["refunds"]["data"][0]["id"]
    [row] = rows(migrated, "billing_charge_refund")
    assert (row["charge_id"], row["amount_refunded"], bool(row["fully_refunded"])) == (
        ch["id"],
        500,
        False,
    )


def test_newer_api_versions_are_understood(wh, migrated):
    """2025-03-31 moved period ends onto items and invoice.subscription under parent;
    2022-11-15 stopped listing refunds on charges."""
    sub = se.subscription("cus_New1")
    period_end = sub.pop("current_period_end")
    sub["items"]["data"][0]["current_period_end"] = period_end
    _ok(deliver(wh, se.event("customer.subscription.created", sub, api_version="2025-03-31.basil")))
    inv = se.invoice("cus_New1")
    inv.pop("subscription")
    inv["parent"] = {
        "subscription_details": {"subscription": sub["id"]},
        "type": "subscription_details",
    }
    _ok(deliver(wh, se.event("invoice.paid", inv, api_version="2025-03-31.basil")))
    ch = se.charge("cus_New1", amount_refunded=2000, refunded=True)
    ch.pop("refunds")
    refund_evt = se.event("charge.refunded", ch)
    _ok(deliver(wh, refund_evt))

    [sub_row] = rows(migrated, "billing_subscription")
    assert sub_row["current_period_end"] is not None
    [inv_row] = rows(migrated, "billing_invoice")
    assert inv_row["subscription_id"] == sub["id"]
    context = _context(outbox_rows(migrated, refund_evt["id"])[0])
    assert (context["refund_amount"], context["fully_refunded"]) == (2000, True)


def test_unhandled_type_is_ignored_and_stored(wh, migrated):
    before = scrape(wh)
    evt = se.event("payment_intent.created", {"id": se.uid("pi"), "object": "payment_intent"})
    _ok(deliver(wh, evt), result="ignored")
    assert stored_event(migrated, evt["id"])["status"] == "ignored"
    assert delta(before, scrape(wh)) == {"result:ignored": 1}


@pytest.mark.parametrize("secret", [se.SECRET, se.OLD_SECRET])
def test_every_configured_secret_verifies(wh, migrated, secret):
    evt = se.event("invoice.paid", se.invoice("cus_Rot1"))
    _ok(deliver(wh, evt, secret=secret))
    assert stored_event(migrated, evt["id"])["status"] == "processed"


def test_duplicate_has_no_second_side_effect(wh, migrated):
    evt = se.event("invoice.paid", se.invoice("cus_Dup1"))
    _ok(deliver(wh, evt))
    before = scrape(wh)
    # Stripe's retry: a new signature timestamp, pending_webhooks changed.
    # Signed now: se.NOW is when the module was imported, which a slow suite
    # can leave past the 300 s tolerance.
    retry = deliver(wh, {**evt, "pending_webhooks": 0}, timestamp=int(time.time()) + 1)
    _ok(retry, result="duplicate")
    assert delta(before, scrape(wh)) == {"result:duplicate": 1}
    assert len(outbox_rows(migrated, evt["id"])) == 1
    assert stored_event(migrated, evt["id"])["attempts"] == 1


def _context(mail: dict) -> dict:
    context = mail["context"]
    return json.loads(context) if isinstance(context, str) else context
