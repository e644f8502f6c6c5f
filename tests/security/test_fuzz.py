"""Hypothesis fuzzing: the Stripe webhook (bodies, headers, signatures,
encodings) and every admin query and path parameter never answer 500.

Bounded (a few hundred in-process requests) and derandomized, so a CI run
takes seconds and a failure reproduces.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webhooks import stripe_events as se

from .tokens import ADMIN, bearer

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
EVENT_TYPES = [
    "invoice.paid",
    "invoice.payment_failed",
    "customer.created",
    "customer.updated",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.trial_will_end",
    "checkout.session.completed",
    "charge.refunded",
    "unknown.type",
]


@st.composite
def event_like(draw) -> dict:
    """Something shaped like a Stripe event, with hostile leaves."""
    obj = draw(
        st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "object",
                    "customer",
                    "customer_email",
                    "amount_paid",
                    "currency",
                    "status",
                    "items",
                    "created",
                    "amount_refunded",
                ]
            ),
            json_values,
            max_size=8,
        )
    )
    return {
        "id": draw(st.text(max_size=40) | st.just(se.uid("evt"))),
        "object": draw(st.sampled_from(["event", "other"]) | st.text(max_size=5)),
        "type": draw(st.sampled_from(EVENT_TYPES) | st.text(max_size=20)),
        "created": draw(st.integers() | st.text(max_size=5) | st.none()),
        "livemode": draw(st.booleans() | json_values),
        "api_version": draw(st.text(max_size=12)),
        "data": draw(st.just({"object": obj}) | json_values),
    }


@st.composite
def delivery(draw) -> tuple[bytes, dict[str, str]]:
    kind = draw(st.sampled_from(["bytes", "text", "json", "event", "signed event", "stripe event"]))
    if kind == "stripe event":  # a well-formed invoice.paid with hostile customer data
        invoice = se.invoice(
            "cus_" + draw(st.text("abcdef0123456789", min_size=1, max_size=12)),
            customer_email=draw(
                st.text(min_size=1, max_size=40) | st.just("a@example.com, b@example.org")
            ),
            customer_name=draw(st.text(max_size=40)),
        )
        payload = se.body(se.event("invoice.paid", invoice))
    elif kind == "bytes":
        payload = draw(st.binary(max_size=300))
    elif kind == "text":
        text = draw(st.text(max_size=200))
        encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-32"]))
        payload = text.encode(encoding, errors="replace")
    elif kind == "json":
        payload = json.dumps(draw(json_values)).encode()
    else:
        payload = json.dumps(draw(event_like())).encode()
    headers = {
        "Content-Type": draw(
            st.sampled_from(["application/json", "text/plain", "application/json; charset=latin-1"])
            | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
        )
    }
    signature = draw(
        st.none()
        | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
        | st.builds(lambda t, v: f"t={t},v1={v}", st.integers(), st.text("0123456789abcdef"))
        | st.builds(lambda t: f"t={t},v1=" + "0" * 64, st.integers(-(2**70), 2**70))
    )
    if kind in ("signed event", "stripe event") or (kind == "json" and draw(st.booleans())):
        signature = se.sign(payload)
    if signature is not None:
        headers["Stripe-Signature"] = signature
    if draw(st.booleans()):
        headers["Content-Encoding"] = draw(st.sampled_from(["gzip", "identity", "br", "x"]))
    return payload, headers


@pytest.fixture
def fuzz_app(make_app):
    from tests.webhooks.conftest import API_KEY

    return make_app(
        ADMIN_TOKEN=ADMIN,
        STRIPE_WEBHOOK_SECRET=se.SECRET,
        STRIPE_API_KEY=API_KEY,
        STRIPE_API_BASE="http://127.0.0.1:9",  # nothing listens: lookups fail fast
    )


@pytest.mark.timeout(120)
def test_webhook_never_answers_500_to_bad_input(fuzz_app):
    client = fuzz_app.test_client()
    seen: set[int] = set()

    @FUZZ
    @given(delivery())
    def run(sent):
        payload, headers = sent
        response = client.post("/v1/webhooks/stripe", data=payload, headers=headers)
        seen.add(response.status_code)
        body = response.get_json(silent=True)
        if response.status_code >= 500:
            # A handler that raises is a 500 by design (Stripe retries); a bug
            # in reading input is not: it would say something else.
            assert body["error"]["code"] in ("processing_error", "database_unavailable"), body
            pytest.fail(f"500 for {payload[:200]!r} {headers}: {body}")

    run()
    assert {200, 400} <= seen  # the fuzzer reached both refusals and processing


ADMIN_QUERIES = {
    "/v1/admin/jobs/status": [],
    "/v1/admin/circuits": [],
    "/v1/admin/export-dead-letter": ["status", "template", "limit", "cursor", "format"],
    "/v1/admin/webhook-events": ["status", "type", "limit", "cursor"],
}
hostile_text = (
    st.text(max_size=60)
    | st.sampled_from(["\x00", "%00", "-1", "0", str(2**63), str(2**64), "9" * 400, "csv", "JSON"])
    | st.builds(lambda n: "[" * n + "]" * n, st.integers(0, 3000))
    | st.binary(max_size=40).map(lambda b: b.decode("latin-1"))
)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", sorted(ADMIN_QUERIES))
def test_admin_query_parameters_never_answer_500(fuzz_app, path):
    client = fuzz_app.test_client()
    names = ADMIN_QUERIES[path] + ["token", "x"]

    @settings(FUZZ, max_examples=60)
    @given(st.dictionaries(st.sampled_from(names), hostile_text, max_size=4))
    def run(params):
        response = client.get(path, query_string=params, headers=bearer(ADMIN))
        assert response.status_code < 500, (params, response.get_data(as_text=True)[:300])

    run()


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("get", "/v1/admin/export-dead-letter/{}"),
        ("post", "/v1/admin/export-dead-letter/{}/replay"),
        ("get", "/v1/admin/webhook-events/{}"),
        ("post", "/v1/admin/webhook-events/{}/reprocess"),
        ("post", "/v1/admin/circuits/{}/reset"),
        ("post", "/v1/admin/jobs/{}/run"),
    ],
)
def test_admin_path_parameters_never_answer_500(fuzz_app, method, template):
    from urllib.parse import quote

    client = fuzz_app.test_client()

    @settings(FUZZ, max_examples=40)
    @given(hostile_text.filter(bool))
    def run(value):
        url = template.format(quote(value[:500], safe=""))
        response = getattr(client, method)(url, headers=bearer(ADMIN))
        assert response.status_code < 500, (url, response.get_data(as_text=True)[:300])

    run()
