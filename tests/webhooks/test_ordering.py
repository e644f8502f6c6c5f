"""Events arrive out of order: whatever the order, the newest state stays."""

from __future__ import annotations

import itertools

import pytest

from . import stripe_events as se
from .helpers import deliver, outbox_rows, rows

T = se.NOW - 1000


def _ok(response) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)


def test_subscription_updated_before_created(wh, migrated):
    sub = se.subscription("cus_Ord1", status="trialing", trial_end=T + 500)
    created = se.event("customer.subscription.created", sub, created=T)
    updated = se.event(
        "customer.subscription.updated",
        {**sub, "status": "active", "cancel_at_period_end": True},
        created=T + 10,
        previous_attributes={"status": "trialing"},
    )
    _ok(deliver(wh, updated))
    _ok(deliver(wh, created))
    [row] = rows(migrated, "billing_subscription")
    assert (row["status"], bool(row["cancel_at_period_end"])) == ("active", True)
    assert row["event_created"] == T + 10


def test_old_update_after_a_newer_one_changes_nothing(wh, migrated):
    sub = se.subscription("cus_Ord2")
    newer = se.event("customer.subscription.updated", {**sub, "status": "past_due"}, created=T + 20)
    older = se.event("customer.subscription.updated", {**sub, "status": "active"}, created=T + 5)
    _ok(deliver(wh, newer))
    _ok(deliver(wh, older))  # still processed: it is a valid event, just old
    [row] = rows(migrated, "billing_subscription")
    assert row["status"] == "past_due"


def test_deleted_is_not_undone_by_an_update_in_the_same_second(wh, migrated, fake_stripe):
    fake_stripe.add_customer("cus_Ord3", "ord3@example.com")
    sub = se.subscription("cus_Ord3")
    deleted = se.event("customer.subscription.deleted", {**sub, "status": "canceled"}, created=T)
    update = se.event("customer.subscription.updated", {**sub, "status": "active"}, created=T)
    _ok(deliver(wh, deleted))
    _ok(deliver(wh, update))
    [row] = rows(migrated, "billing_subscription")
    assert row["status"] == "canceled"


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_customer_events_in_any_order(make_app, webhook_env, migrated, order):
    client = make_app(**webhook_env).test_client()
    customer = se.customer(email="v1@example.com")
    versions = [
        se.event("customer.created", customer, created=T),
        se.event("customer.updated", {**customer, "email": "v2@example.com"}, created=T + 1),
        se.event("customer.updated", {**customer, "email": "v3@example.com"}, created=T + 2),
    ]
    for index in order:
        _ok(deliver(client, versions[index]))
    [row] = rows(migrated, "billing_customer")
    assert row["email"] == "v3@example.com"


def test_invoice_paid_then_a_late_payment_failed(wh, migrated):
    inv = se.invoice("cus_Ord4")
    failed = se.event(
        "invoice.payment_failed",
        {**inv, "status": "open", "amount_paid": 0, "paid": False},
        created=T,
    )
    paid = se.event("invoice.paid", inv, created=T + 3600)
    _ok(deliver(wh, paid))
    _ok(deliver(wh, failed))
    [row] = rows(migrated, "billing_invoice")
    assert (row["status"], row["amount_paid"]) == ("paid", 2000)
    assert [m["template"] for m in outbox_rows(migrated, paid["id"])] == ["receipt"]
    # Asking for money already paid would be wrong: the late notice is dropped.
    assert outbox_rows(migrated, failed["id"]) == []


def test_refunds_out_of_order_keep_the_larger_total(wh, migrated):
    charge = se.charge("cus_Ord5", id="ch_Ord5")
    first = se.event("charge.refunded", {**charge, "amount_refunded": 500}, created=T)
    second = se.event(
        "charge.refunded", {**charge, "amount_refunded": 2000, "refunded": True}, created=T + 60
    )
    _ok(deliver(wh, second))
    _ok(deliver(wh, first))
    [row] = rows(migrated, "billing_charge_refund")
    assert (row["amount_refunded"], bool(row["fully_refunded"])) == (2000, True)
    # Each refund still tells the customer once.
    assert len(outbox_rows(migrated, first["id"])) == len(outbox_rows(migrated, second["id"])) == 1


def test_trial_ending_is_not_sent_once_the_subscription_moved_on(wh, migrated, fake_stripe):
    fake_stripe.add_customer("cus_Ord6", "ord6@example.com")
    sub = se.subscription("cus_Ord6", status="trialing", trial_end=T + 3 * 86400)
    warning = se.event("customer.subscription.trial_will_end", sub, created=T)
    canceled = se.event(
        "customer.subscription.deleted", {**sub, "status": "canceled"}, created=T + 5
    )
    _ok(deliver(wh, canceled))
    _ok(deliver(wh, warning))
    assert outbox_rows(migrated, warning["id"]) == []
    assert [m["template"] for m in outbox_rows(migrated, canceled["id"])] == [
        "subscription_canceled"
    ]
