"""Every template, from a real signed Stripe event through the webhook to a
real SMTP server: the text and HTML parts carry what the customer needs."""

from __future__ import annotations

import pytest

from service.email import dispatch
from service.email.backends import OutgoingEmail
from service.email.templates import TEMPLATES, date
from tests.email.servers import smtp_server

from . import stripe_events as se
from .helpers import deliver

NAME, EMAIL = "Grace Hopper", "grace@example.com"


@pytest.fixture
def mailer(make_app, webhook_env):
    with smtp_server() as (controller, port):
        app = make_app(
            **webhook_env, EMAIL_BACKEND="smtp", SMTP_URL=f"smtp://127.0.0.1:{port}?timeout=5"
        )
        yield app, controller.handler


def _customer(client) -> str:
    customer = se.customer(email=EMAIL, name=NAME)
    assert (
        deliver(client, se.event("customer.created", customer, created=se.NOW - 500)).status_code
        == 200
    )
    return customer["id"]


def _events(customer_id: str) -> dict[str, tuple[dict, list[str]]]:
    """template -> (event, what its email must show)."""
    who = {"customer_email": EMAIL, "customer_name": NAME}
    paid = se.invoice(customer_id, amount_due=4900, amount_paid=4900, currency="eur", **who)
    failed = se.invoice(
        customer_id,
        status="open",
        paid=False,
        amount_due=12345,
        amount_paid=0,
        currency="usd",
        next_payment_attempt=se.NOW + 3 * 86400,
        **who,
    )
    canceled = se.subscription(customer_id, status="canceled", canceled_at=se.NOW - 30)
    trialing = se.subscription(customer_id, status="trialing", trial_end=se.NOW + 3 * 86400)
    refunded = se.charge(customer_id, currency="gbp", amount=200000, amount_refunded=123456)
    refunded["refunds"]["data"][0].update(amount=123456, currency="gbp")
    refunded["billing_details"].update(email=EMAIL, name=NAME)
    return {
        "receipt": (
            se.event("invoice.paid", paid),
            [
                "€49.00",
                paid["hosted_invoice_url"],
                paid["number"],
                date(paid["status_transitions"]["paid_at"]),
            ],
        ),
        "payment_failed": (
            se.event("invoice.payment_failed", failed),
            ["$123.45", failed["hosted_invoice_url"], date(se.NOW + 3 * 86400)],
        ),
        "subscription_canceled": (
            se.event("customer.subscription.deleted", canceled),
            ["Pro monthly", date(se.NOW - 30)],
        ),
        "trial_ending": (
            se.event("customer.subscription.trial_will_end", trialing),
            ["Pro monthly", date(se.NOW + 3 * 86400)],
        ),
        "refund_issued": (
            se.event("charge.refunded", refunded),
            ["£1,234.56", refunded["receipt_url"]],
        ),
    }


def _parts(message) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def _message_id(event_id: str, template: str) -> str:
    key = f"{event_id}:{template}"
    return OutgoingEmail(key, EMAIL, "billing@example.com", None).message_id  # type: ignore[arg-type]


def test_every_template_from_a_signed_event_carries_amount_link_dates_and_name(mailer):
    app, handler = mailer
    client = app.test_client()
    events = _events(_customer(client))
    assert set(events) == set(TEMPLATES)
    for evt, _ in events.values():
        response = deliver(client, evt)
        assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        assert dispatch.dispatch_queued() == {"delivered": len(TEMPLATES)}
    received = {m["Message-ID"]: m for m in handler.messages}
    for name, (evt, needed) in events.items():
        message = received[_message_id(evt["id"], name)]
        text, html = _parts(message)
        html = html.replace("&amp;", "&")
        assert message["To"] == EMAIL
        assert f"Hi {NAME}" in text and f"Hi {NAME}" in html, name
        for item in needed:
            assert item in text, (name, "text", item)
            assert item in html, (name, "html", item)
