"""Fixtures: an app with webhook secrets (rotation: two) and a fake Stripe API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from .fake_stripe import FakeStripe
from .stripe_events import OLD_SECRET, SECRET

API_KEY = "sk_test_51NfakeKeyForTheTestSuite0123456789"


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe(API_KEY).start()
    yield fake
    fake.stop()


@pytest.fixture
def webhook_env(fake_stripe: FakeStripe) -> dict[str, str]:
    return {
        "STRIPE_WEBHOOK_SECRET": f"{SECRET},{OLD_SECRET}",
        "STRIPE_API_KEY": API_KEY,
        "STRIPE_API_BASE": fake_stripe.base,
    }


@pytest.fixture
def webhook_app(make_app, webhook_env: dict[str, str]) -> Flask:
    return make_app(**webhook_env)


@pytest.fixture
def wh(webhook_app: Flask):
    return webhook_app.test_client()
