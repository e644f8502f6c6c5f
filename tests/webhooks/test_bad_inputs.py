"""Bad deliveries: status code, the counters a real /metrics scrape shows, nothing stored."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from service.webhooks.verify import MAX_BODY_BYTES

from . import stripe_events as se
from .helpers import deliver, delta, post, row_counts, scrape, stored_event

WRONG_SECRET = "whsec_not_one_of_ours_9c8b7a6d5e4f3a2b1c0d"


def _invoice_event() -> dict:
    return se.event("invoice.paid", se.invoice("cus_Bad1"))


def _signed(payload: bytes, **kw) -> tuple[bytes, str]:
    return payload, se.sign(payload, **kw)


def _without(path: str) -> tuple[bytes, str]:
    evt = _invoice_event()
    *parents, leaf = path.split(".")
    target = evt
    for key in parents:
        target = target[key]
    del target[leaf]
    return _signed(se.body(evt))


def _oversized() -> tuple[bytes, str]:
    evt = _invoice_event()
    evt["data"]["object"]["metadata"] = {"padding": ""}
    size = len(se.body(evt))
    evt["data"]["object"]["metadata"]["padding"] = "x" * (MAX_BODY_BYTES - size + 1)
    payload = se.body(evt)
    assert len(payload) == MAX_BODY_BYTES + 1
    return _signed(payload)


def _live_event() -> tuple[bytes, str]:
    return _signed(se.body(se.event("invoice.paid", se.invoice("cus_Live1"), livemode=True)))


def _missing_customer() -> tuple[bytes, str]:
    inv = se.invoice("cus_X")
    del inv["customer"]
    return _signed(se.body(se.event("invoice.paid", inv)))


def _wrong_kind() -> tuple[bytes, str]:
    return _signed(se.body(se.event("invoice.paid", se.customer())))


def _with_name(name: str) -> tuple[bytes, str]:
    """An invoice.paid whose customer name is `name`, escaped as json.dumps does."""
    return _signed(se.body(se.event("invoice.paid", se.invoice("cus_X", customer_name=name))))


def _bad_amount() -> tuple[bytes, str]:
    return _signed(se.body(se.event("invoice.paid", se.invoice("cus_X", amount_paid="20.00"))))


def _upper_escape() -> bytes:
    return se.body(se.event("invoice.paid", se.invoice("cus_X"))).replace(
        b'"customer_name": "', b'"customer_name": "\\uDFFF', 1
    )


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], tuple[bytes, str | None]]
    status: int
    code: str
    result: str = "rejected"
    error_type: str | None = None


SIG = "invalid_signature"
BAD = "invalid_payload"
MISMATCH = "payload_mismatch"
CASES = [
    Case("no header", lambda: (se.body(_invoice_event()), None), 400, SIG, error_type=SIG),
    Case("empty header", lambda: (se.body(_invoice_event()), ""), 400, SIG, error_type=SIG),
    Case(
        "garbage header", lambda: (se.body(_invoice_event()), "garbage"), 400, SIG, error_type=SIG
    ),
    Case(
        "timestamp only",
        lambda: (se.body(_invoice_event()), f"t={int(time.time())}"),
        400,
        SIG,
        error_type=SIG,
    ),
    Case(
        "v0 scheme only",
        lambda: (se.body(_invoice_event()), se.sign(se.body({})).replace("v1=", "v0=")),
        400,
        SIG,
        error_type=SIG,
    ),
    Case(
        "wrong secret",
        lambda: _signed(se.body(_invoice_event()), secret=WRONG_SECRET),
        400,
        SIG,
        error_type=SIG,
    ),
    Case(
        "signature of another body",
        lambda: (se.body(_invoice_event()), se.sign(se.body(_invoice_event()))),
        400,
        SIG,
        error_type=SIG,
    ),
    Case(
        "stale timestamp",
        lambda: _signed(se.body(_invoice_event()), timestamp=int(time.time()) - 330),
        400,
        SIG,
        error_type=SIG,
    ),
    Case(
        "future-skewed timestamp",
        lambda: _signed(se.body(_invoice_event()), timestamp=int(time.time()) + 330),
        400,
        SIG,
        error_type=SIG,
    ),
    Case("empty body, unsigned", lambda: (b"", None), 400, SIG, error_type=SIG),
    Case("empty body, signed", lambda: _signed(b""), 400, BAD),
    Case("not JSON", lambda: _signed(b"id=evt_1&type=invoice.paid"), 400, BAD),
    Case("not UTF-8", lambda: (b'{"id": "\xff\xfe"}', "t=1,v1=00"), 400, BAD),
    Case("NaN is not JSON", lambda: _signed(b'{"id": NaN}'), 400, BAD),
    Case("JSON array", lambda: _signed(json.dumps([_invoice_event()]).encode()), 400, BAD),
    Case("JSON string", lambda: _signed(b'"evt_1"'), 400, BAD),
    Case("not an event object", lambda: _signed(se.body(se.customer())), 400, BAD),
    Case("missing id", lambda: _without("id"), 400, BAD),
    Case("missing type", lambda: _without("type"), 400, BAD),
    Case("missing created", lambda: _without("created"), 400, BAD),
    Case("missing data.object", lambda: _without("data.object"), 400, BAD),
    Case("a NUL escape (\\u0000)", lambda: _with_name("Ann\x00"), 400, BAD),
    Case("a lone surrogate escape (\\ud800)", lambda: _with_name("Ann\ud800"), 400, BAD),
    Case("a lone surrogate escape (\\uDFFF)", lambda: _signed(_upper_escape()), 400, BAD),
    Case("oversized body", _oversized, 413, "payload_too_large"),
    Case(
        "oversized body, unsigned",
        lambda: (b"{" + b" " * MAX_BODY_BYTES + b"}", None),
        413,
        "payload_too_large",
    ),
    Case("livemode against a test key", _live_event, 400, MISMATCH, error_type=MISMATCH),
    Case("field the type needs missing", _missing_customer, 400, MISMATCH, error_type=MISMATCH),
    Case("object of another kind", _wrong_kind, 400, MISMATCH, error_type=MISMATCH),
    Case("field of the wrong kind", _bad_amount, 400, MISMATCH, error_type=MISMATCH),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input(wh, migrated, case: Case):
    payload, header = case.make()
    before = scrape(wh)
    response = post(wh, payload, header)
    assert response.status_code == case.status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == case.code
    assert error["message"]
    expected = {f"result:{case.result}": 1}
    if case.error_type:
        expected[f"type:{case.error_type}"] = 1
    assert delta(before, scrape(wh)) == expected
    assert set(row_counts(migrated).values()) == {0}, "nothing may be stored"


def test_same_id_with_another_body_is_a_mismatch(wh, migrated):
    evt = _invoice_event()
    assert deliver(wh, evt).status_code == 200
    stored = stored_event(migrated, evt["id"])
    counts = row_counts(migrated)
    before = scrape(wh)
    tampered = json.loads(json.dumps(evt))
    tampered["data"]["object"]["amount_paid"] = 1
    response = deliver(wh, tampered)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == MISMATCH
    assert delta(before, scrape(wh)) == {"result:rejected": 1, f"type:{MISMATCH}": 1}
    assert row_counts(migrated) == counts
    assert stored_event(migrated, evt["id"]) == stored


def test_escaped_characters_that_postgresql_can_store_are_accepted(wh, migrated):
    """A surrogate pair (an emoji as json.dumps escapes it) and other escapes
    are text like any other: processed and stored."""
    payload, header = _with_name("Ann \U0001f600 \u00e9\u4e2d \\u0000")
    assert b"\\ud83d\\ude00" in payload and b"\\\\u0000" in payload
    response = post(wh, payload, header)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["result"] == "processed"


def test_body_of_exactly_the_limit_is_read(wh):
    evt = _invoice_event()
    evt["data"]["object"]["metadata"] = {"padding": ""}
    evt["data"]["object"]["metadata"]["padding"] = "x" * (MAX_BODY_BYTES - len(se.body(evt)))
    payload = se.body(evt)
    assert len(payload) == MAX_BODY_BYTES
    assert post(wh, payload, se.sign(payload)).status_code == 200


@pytest.mark.parametrize("app_env", ["production", "development"])
def test_missing_secret_is_a_misconfiguration_never_an_accept(make_app, migrated, app_env):
    env = {"APP_ENV": app_env}
    if app_env == "production":
        env.update(EMAIL_BACKEND="smtp", SMTP_URL="smtp://127.0.0.1:2525", METRICS_TOKEN="m" * 32)
    client = make_app(**env).test_client()
    response = deliver(client, _invoice_event())
    assert response.status_code == 500
    error = response.get_json()["error"]
    assert error["code"] == "server_misconfigured"
    assert "STRIPE_WEBHOOK_SECRET" in error["message"]
    assert set(row_counts(migrated).values()) == {0}


@pytest.mark.parametrize("skew", [-290, 290])
def test_timestamps_within_the_tolerance_pass(wh, skew):
    response = deliver(wh, _invoice_event(), timestamp=int(time.time()) + skew)
    assert response.status_code == 200


def test_tolerance_is_configurable(make_app, webhook_env):
    client = make_app(**webhook_env, STRIPE_WEBHOOK_TOLERANCE_SECONDS="60").test_client()
    stale = deliver(client, _invoice_event(), timestamp=int(time.time()) - 120)
    assert stale.status_code == 400
    assert stale.get_json()["error"]["code"] == "invalid_signature"
    assert deliver(client, _invoice_event(), timestamp=int(time.time()) - 30).status_code == 200


def test_a_body_without_content_length_is_limited_while_read():
    """Chunked transfer: no length to refuse up front (under Gunicorn: tests/e2e)."""
    from service.webhooks.outcomes import WebhookError
    from service.webhooks.verify import read_body

    assert read_body(io.BytesIO(b"x" * MAX_BODY_BYTES), None) == b"x" * MAX_BODY_BYTES
    stream = io.BytesIO(b"x" * (10 * MAX_BODY_BYTES))
    with pytest.raises(WebhookError) as refused:
        read_body(stream, None)
    assert refused.value.status == 413
    assert stream.tell() <= MAX_BODY_BYTES + 1  # it stopped reading at the limit
