"""Stored webhook payloads for human eyes: secrets and card data masked.

Stripe sends no full card number, but it does send last4, expiry, card
fingerprints and, on some objects, `client_secret`s; none of it is needed to
debug an event, and a screen is easy to share. The stored row is untouched.
"""

from __future__ import annotations

import json
import re
from typing import Any

MASK = "••••"
SECRET_KEY = re.compile(r"secret|password|passwd|token|api_key|apikey|authorization", re.I)
CARD_FIELDS = frozenset(
    {"number", "cvc", "exp_month", "exp_year", "last4", "dynamic_last4", "fingerprint", "iin"}
)
CARD_MARKERS = frozenset({"last4", "exp_month", "cvc"})
CARD_CONTAINERS = frozenset({"card", "card_present", "bank_account", "us_bank_account"})
CARD_NUMBER = re.compile(r"^\d[\d -]{11,22}\d$")  # 13-19 digits, maybe grouped


def mask(value: Any, card_context: bool = False) -> Any:
    if isinstance(value, dict):
        card_like = card_context or bool(CARD_MARKERS & value.keys())
        return {key: _masked(key, item, card_like) for key, item in value.items()}
    if isinstance(value, list):
        return [mask(item, card_context) for item in value]
    if isinstance(value, str) and CARD_NUMBER.match(value):
        return MASK
    return value


def _masked(key: str, value: Any, card_like: bool) -> Any:
    if value is None:
        return None
    if SECRET_KEY.search(key) or (card_like and key in CARD_FIELDS):
        return MASK
    return mask(value, key in CARD_CONTAINERS)


def pretty(payload: Any) -> str:
    return json.dumps(mask(payload), indent=2, sort_keys=True, ensure_ascii=False)
