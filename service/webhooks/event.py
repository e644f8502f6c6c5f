"""A verified body parsed into a Stripe event, or refused as not being one."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..billing.fields import timestamp as is_timestamp
from .outcomes import invalid_payload

EVENT_ID = re.compile(r"^evt_[A-Za-z0-9_]{1,251}$")
EVENT_TYPE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
# Fields Stripe may change between deliveries of one event; left out of the
# content hash so a retry is not mistaken for a different body.
VOLATILE_FIELDS = ("pending_webhooks",)


@dataclass(frozen=True)
class StripeEvent:
    id: str
    type: str
    created: int
    livemode: bool
    api_version: str | None
    object: dict[str, Any]
    payload: dict[str, Any]

    @property
    def created_at(self) -> datetime:
        return datetime.fromtimestamp(self.created, UTC)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _escapes_to_check(text: str) -> bool:
    """Whether parsed `text` may hold a NUL or a lone surrogate at all.

    Strict JSON has no raw control characters in strings and a Python str
    made by decoding UTF-8 has no surrogates, so either can only come from a
    `\\u0000` or `\\udXXX` escape. Most bodies have neither, and the walk over
    every string of the event (several percent of a webhook's CPU) is skipped.
    """
    return "\\u0000" in text or "\\ud" in text or "\\uD" in text


def _storable(value: Any) -> bool:
    """No NUL and no lone surrogate anywhere: PostgreSQL text cannot hold them."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return False
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate (a "\ud800" escape in the JSON)
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def load_json(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise invalid_payload("The body is not JSON.") from None


def _shape_problem(data: Any, text: str) -> str | None:
    if not isinstance(data, dict):
        return "The body is JSON but not an object."
    if data.get("object") != "event":
        return 'The body is not a Stripe event ("object" is not "event").'
    if not isinstance(data.get("id"), str) or not EVENT_ID.match(data["id"]):
        return 'The event has no valid "id".'
    event_type = data.get("type")
    if not isinstance(event_type, str) or len(event_type) > 100 or not EVENT_TYPE.match(event_type):
        return 'The event has no valid "type".'
    if not is_timestamp(data.get("created")):
        return 'The event has no valid "created" timestamp.'
    if not isinstance(data.get("livemode"), bool):
        return 'The event has no boolean "livemode".'
    api_version = data.get("api_version")
    if api_version is not None and not (isinstance(api_version, str) and len(api_version) <= 64):
        return 'The event "api_version" is not a short string.'
    inner = data.get("data")
    if not isinstance(inner, dict) or not isinstance(inner.get("object"), dict):
        return 'The event has no "data.object".'
    if _escapes_to_check(text) and not _storable(data):
        return "The event holds NUL characters or unpaired surrogates."
    return None


def from_payload(data: dict[str, Any]) -> StripeEvent:
    return StripeEvent(
        id=data["id"],
        type=data["type"],
        created=data["created"],
        livemode=data["livemode"],
        api_version=data.get("api_version"),
        object=data["data"]["object"],
        payload=data,
    )


def parse_event(text: str) -> StripeEvent:
    """Raise invalid_payload unless `text` is a Stripe (v1 snapshot) event."""
    data = load_json(text)
    problem = _shape_problem(data, text)
    if problem is not None:
        raise invalid_payload(problem)
    return from_payload(data)


def content_hash(payload: dict[str, Any]) -> str:
    """sha256 of the event's canonical JSON, delivery-varying fields left out."""
    stable = {k: v for k, v in payload.items() if k not in VOLATILE_FIELDS}
    canonical = json.dumps(stable, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
