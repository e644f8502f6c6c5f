"""Every template renders text and HTML from realistic Stripe-shaped data."""

from __future__ import annotations

import pytest
from jinja2 import TemplateNotFound

from service.email.templates import TEMPLATES, date, money, render

NOV_27_2026 = 1795737600  # 2026-11-27T00:00:00Z
CONTEXTS = {
    "receipt": {
        "customer_name": "Ada Lovelace",
        "invoice_number": "INV-0042",
        "amount_paid": 4900,
        "currency": "usd",
        "paid_at": NOV_27_2026,
        "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1/inv_42",
        "lines": [{"description": "Pro plan (monthly)", "amount": 4900}],
    },
    "payment_failed": {
        "customer_name": "Ada Lovelace",
        "invoice_number": "INV-0043",
        "amount_due": 4900,
        "currency": "eur",
        "next_payment_attempt": "2026-11-30T09:00:00Z",
        "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1/inv_43",
    },
    "subscription_canceled": {
        "customer_name": "Ada Lovelace",
        "plan_name": "Pro plan",
        "canceled_at": NOV_27_2026,
    },
    "trial_ending": {
        "customer_name": "Ada Lovelace",
        "plan_name": "Pro plan",
        "trial_end": NOV_27_2026,
    },
    "refund_issued": {
        "customer_name": "Ada Lovelace",
        "amount_refunded": 123456,
        "currency": "gbp",
        "charge_id": "ch_3Nx",
        "receipt_url": "https://pay.stripe.com/receipts/ch_3Nx",
    },
}
EXPECTED = {
    "receipt": ("Your receipt for invoice INV-0042", "$49.00", "27 November 2026"),
    "payment_failed": ("Your payment of €49.00 failed", "€49.00", "30 November 2026"),
    "subscription_canceled": ("Your Pro plan has been canceled", "Pro plan", "27 November 2026"),
    "trial_ending": ("Your trial ends on 27 November 2026", "Pro plan", "27 November 2026"),
    "refund_issued": ("We refunded £1,234.56", "£1,234.56", "ch_3Nx"),
}


def test_every_template_has_a_realistic_context():
    assert set(CONTEXTS) == set(TEMPLATES)


@pytest.mark.parametrize("name", TEMPLATES)
def test_renders_subject_text_and_html(name):
    email = render(name, CONTEXTS[name])
    subject, *facts = EXPECTED[name]
    assert email.subject == subject
    assert "\n" not in email.subject
    for fact in facts:
        assert fact in email.text
        assert fact in email.html
    assert email.text.startswith("Hi Ada Lovelace,")
    assert "<html" in email.html and "Hi Ada Lovelace," in email.html
    assert "<" not in email.text, "the text part must not carry markup"


@pytest.mark.parametrize("name", TEMPLATES)
def test_renders_from_a_sparse_context(name):
    email = render(name, {})
    assert email.subject and "Hi there," in email.text


@pytest.mark.parametrize("name", TEMPLATES)
def test_html_is_autoescaped_and_text_is_not(name):
    hostile = "<script>alert(1)</script> & Co"
    email = render(name, {**CONTEXTS[name], "customer_name": hostile})
    assert hostile not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in email.html
    assert hostile in email.text


def test_links_are_escaped_in_attributes():
    ctx = {**CONTEXTS["receipt"], "hosted_invoice_url": 'https://x.test/?a=1&b="2"'}
    assert 'href="https://x.test/?a=1&amp;b=&#34;2&#34;"' in render("receipt", ctx).html


def test_unknown_template_raises():
    with pytest.raises(TemplateNotFound):
        render("newsletter", {})


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (4900, "usd", "$49.00"),
        (5, "usd", "$0.05"),
        (123456, "eur", "€1,234.56"),
        (5000, "jpy", "¥5,000"),
        (1999, "chf", "19.99 CHF"),
        (None, "usd", ""),
    ],
)
def test_money(amount, currency, text):
    assert money(amount, currency) == text


def test_date_accepts_unix_seconds_and_iso():
    assert date(NOV_27_2026) == date("2026-11-27T00:00:00Z") == "27 November 2026"
    assert date(None) == ""
