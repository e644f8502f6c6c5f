"""Property: no body/header combination yields a 500 or stores an unsigned event."""

from __future__ import annotations

import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.webhooks.handlers import HANDLERS

from . import stripe_events as se
from .helpers import post, row_counts, stored_event

WRONG_SECRET = "whsec_attacker_guess_00000000000000000"
PROPERTY_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FIELDS = sorted(
    {name for handler in HANDLERS.values() for name in handler.spec}
    | {"object", "items", "parent", "status_transitions", "refunds", "metadata"}
)
KINDS = sorted({h.kind for h in HANDLERS.values()} | {"payment_intent"})
TYPES = [*sorted(HANDLERS), "payment_intent.created", "invoice.finalized"]

header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.from_regex(r"(cus|sub|in|ch|re)_[A-Za-z0-9]{6,14}", fullmatch=True),
    st.sampled_from(["usd", "eur", "USD", "paid", "open", "canceled", "trialing", "a@b.c"]),
    st.integers(min_value=0, max_value=4_200_000_000),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def stripe_objects(draw) -> dict:
    obj = {name: draw(values) for name in draw(st.lists(st.sampled_from(FIELDS), unique=True))}
    if draw(st.booleans()):
        obj["object"] = draw(st.sampled_from(KINDS))
    return obj


@st.composite
def event_like(draw) -> dict:
    """Mostly well-formed envelopes, so the fuzzing reaches the handlers."""
    evt = {
        "id": draw(st.one_of(st.from_regex(r"evt_[A-Za-z0-9]{6,20}", fullmatch=True), values)),
        "object": draw(st.sampled_from(["event", "event", "v2.core.event"])),
        "type": draw(st.one_of(st.sampled_from(TYPES), st.text(max_size=30))),
        "created": draw(st.one_of(st.integers(se.NOW - 10**6, se.NOW), values)),
        "livemode": draw(st.one_of(st.just(False), values)),
        "api_version": se.API_VERSION,
        "data": draw(st.one_of(st.fixed_dictionaries({"object": stripe_objects()}), values)),
    }
    for key in draw(st.lists(st.sampled_from(sorted(evt)), max_size=2)):
        evt.pop(key, None)
    return evt


def _valid(check) -> st.SearchStrategy:
    """Values a field check accepts (mostly), by the check's name."""
    return {
        "stripe_id": st.from_regex(r"(cus|sub|in|ch)_[A-Za-z0-9]{6,14}", fullmatch=True),
        "text": st.one_of(st.text(max_size=40), st.emails()),
        "amount": st.integers(min_value=0, max_value=2**53 - 1),
        "integer": st.integers(min_value=-(2**31), max_value=2**31),
        "timestamp": st.integers(min_value=0, max_value=4_102_444_800),
        "currency": st.from_regex(r"[a-z]{3}", fullmatch=True),
        "status": st.sampled_from(["active", "trialing", "canceled", "paid", "open", "void"]),
        "flag": st.booleans(),
        "mapping": st.fixed_dictionaries(
            {}, optional={"email": st.one_of(st.emails(), values), "name": values}
        ),
    }[check.__name__]


@st.composite
def near_valid_events(draw) -> dict:
    """Valid envelopes of handled types whose objects are mostly right: these
    get past validation and into the handlers and the database."""
    event_type = draw(st.sampled_from(TYPES))
    handler = HANDLERS.get(event_type)
    obj: dict = {"object": handler.kind if handler else "payment_intent"}
    if draw(st.integers(0, 19)) == 0:
        obj["object"] = draw(st.sampled_from(KINDS))
    for name, field in handler.spec.items() if handler else ():
        choice = draw(st.integers(0, 19))
        if choice == 0:
            continue  # missing
        obj[name] = draw(values) if choice == 1 else draw(_valid(field.check))
    for name in draw(
        st.lists(st.sampled_from(["items", "parent", "refunds", "status_transitions"]))
    ):
        obj[name] = draw(values)
    created = draw(st.integers(min_value=se.NOW - 10**6, max_value=se.NOW))
    return se.event(event_type, obj, created=created)


bodies = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    values.map(lambda v: json.dumps(v).encode()),
    event_like().map(se.body),
)


@st.composite
def unsigned_deliveries(draw) -> tuple[bytes, str | None]:
    """Bodies with headers that are missing, garbage, or real signatures that
    must not pass (wrong secret, another body, stale, from the future)."""
    payload = draw(bodies)
    kind = draw(st.integers(min_value=0, max_value=6))
    now = int(time.time())  # used after the draws: generation stays reproducible
    if kind == 0:
        return payload, None
    if kind == 1:
        return payload, draw(header_text)
    if kind == 2:
        offset = draw(st.integers(min_value=-10, max_value=10))
        sigs = draw(st.lists(st.from_regex(r"[0-9a-f]{64}", fullmatch=True), max_size=3))
        return payload, ",".join([f"t={now + offset}", *(f"v1={s}" for s in sigs)])
    if kind == 3:
        return payload, se.sign(payload, secret=WRONG_SECRET)
    if kind == 4:
        return payload, se.sign(payload + b" ")  # our secret, another body
    return payload, se.sign(payload, timestamp=now + (3600 if kind == 5 else -3600))


def test_unsigned_deliveries_never_500_and_store_nothing(webhook_app):
    client = webhook_app.test_client()
    database_url = webhook_app.config["SQLALCHEMY_DATABASE_URI"]

    @PROPERTY_SETTINGS
    @given(unsigned_deliveries())
    def check(delivery: tuple[bytes, str | None]) -> None:
        payload, header = delivery
        response = post(client, payload, header)
        assert response.status_code in (400, 413), response.get_data(as_text=True)
        assert set(response.get_json()["error"]) == {"code", "message"}

    check()
    assert set(row_counts(database_url).values()) == {0}


def test_signed_deliveries_never_500(webhook_app, fake_stripe):
    fake_stripe.answer_unknown = True  # every customer exists: a 500 would be our bug
    client = webhook_app.test_client()
    database_url = webhook_app.config["SQLALCHEMY_DATABASE_URI"]

    @PROPERTY_SETTINGS
    @given(st.one_of(bodies, near_valid_events().map(se.body), near_valid_events().map(se.body)))
    def check(payload: bytes) -> None:
        response = post(client, payload, se.sign(payload))
        assert response.status_code in (200, 400), response.get_data(as_text=True)
        if response.status_code == 200:
            event_id = response.get_json()["id"]
            assert stored_event(database_url, event_id)["status"] in ("processed", "ignored")

    check()
