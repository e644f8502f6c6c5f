"""The webhook keeps its own 256 KiB limit under the app-wide 1 MiB one."""

from __future__ import annotations

import re
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.email import recipients
from service.email.recipients import parse_recipient
from tests.helpers import sample_value

from . import stripe_events as se
from .helpers import deliver, delta, outbox_rows, post, scrape


def test_a_body_past_the_app_wide_limit_is_still_a_counted_rejection(wh):
    before = scrape(wh)
    response = post(wh, b"{" + b" " * (2 * 1024 * 1024) + b"}", "t=1,v1=00")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert delta(before, scrape(wh)) == {"result:rejected": 1}


def test_a_chunked_body_past_the_limit_is_refused(wh):
    before = scrape(wh)
    response = wh.post(
        "/v1/webhooks/stripe",
        data=b"{" + b" " * (300 * 1024) + b"}",
        headers={"Stripe-Signature": "t=1,v1=00", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert delta(before, scrape(wh)) == {"result:rejected": 1}


@pytest.mark.parametrize(
    "address",
    [
        "a@example.com, b@example.org",
        "a@example.com;b@example.org",
        "Ada <a@example.com>",
        "a@example.com\r\nBcc: b@example.org",
        "x" * 400 + "@example.com",
        "not-an-address",
    ],
)
def test_a_bad_recipient_is_skipped_and_the_event_still_processed(wh, migrated, address):
    evt = se.event("invoice.paid", se.invoice("cus_Rcpt1", customer_email=address))
    response = deliver(wh, evt)
    assert response.status_code == 200
    assert response.get_json()["result"] == "processed"
    (row,) = outbox_rows(migrated, evt["id"])
    assert row["status"] == "skipped"
    assert row["last_error"].startswith("invalid_recipient")
    assert len(row["recipient"]) <= 320
    # Stripe's retry is a duplicate, not a 500 loop.
    assert deliver(wh, evt).get_json()["result"] == "duplicate"
    text = wh.get("/metrics").get_data(as_text=True)
    assert sample_value(text, "email_notifications_total", template="receipt", status="skipped")


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("a@example.com", "a@example.com"),
        ("  a@example.com ", "a@example.com"),
        ('"a,b"@example.com', '"a,b"@example.com'),
        ("a@example.com, b@example.org", None),
        ("a@example.com b@example.org", None),
        ("<a@example.com>", None),
        ("a@b@example.com", None),
        ("@example.com", None),
        ("a@", None),
        ("", None),
        (None, None),
        ("a@example.com\n", "a@example.com"),
        ("a@exa\nmple.com", None),
        ("a" * 309 + "@example.com", "a" * 309 + "@example.com"),  # 321 characters
    ],
)
def test_parse_recipient(raw, parsed):
    expected = parsed if parsed is None or len(parsed) <= 320 else None
    assert parse_recipient(raw) == expected


_ATOM_CHARS = "abcXYZ019!#$%&'*+/=?^_`{|}~-"


@settings(max_examples=400, deadline=None)
@given(
    local=st.lists(st.text(_ATOM_CHARS, min_size=1, max_size=12), min_size=1, max_size=3),
    labels=st.lists(st.text("abz09-", min_size=1, max_size=10), min_size=1, max_size=3),
    pad=st.sampled_from(["", " ", "\n", "  "]),
)
def test_the_fast_path_agrees_with_the_full_parser(local, labels, pad):
    """Plain addresses skip email.utils.getaddresses; it would have answered the same."""
    address = ".".join(local) + "@" + ".".join(labels)
    raw = pad + address + pad
    assert recipients._PLAIN.fullmatch(address)
    with patch.object(recipients, "_PLAIN", re.compile(r"(?!)")):  # never matches
        slow = parse_recipient(raw)
    assert parse_recipient(raw) == slow


@settings(max_examples=600, deadline=None)
@given(raw=st.text('ab.@-_+<>",;: ()[]\\\n\tZ9', min_size=1, max_size=24))
def test_the_fast_path_never_accepts_what_the_full_parser_refuses(raw):
    with patch.object(recipients, "_PLAIN", re.compile(r"(?!)")):
        slow = parse_recipient(raw)
    assert parse_recipient(raw) == slow
