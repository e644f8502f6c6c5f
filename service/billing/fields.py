"""Checks for the fields of Stripe objects that billing state reads.

Stripe's payloads are trusted once signed, but a payload that lacks a field
its type needs, or holds the wrong kind of value, must be refused up front
(400 payload_mismatch) rather than blow up half-way through applying it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_ID = re.compile(r"^[A-Za-z0-9_]{1,255}$")
_CURRENCY = re.compile(r"^[a-z]{3}$")
_STATUS = re.compile(r"^[a-z_]{1,32}$")
MAX_TIMESTAMP = 4_102_444_800  # 2100-01-01
MAX_AMOUNT = 2**53  # what JSON numbers hold exactly


def stripe_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_ID.match(value))


def text(value: Any) -> bool:
    return isinstance(value, str)


def integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def amount(value: Any) -> bool:
    return integer(value) and 0 <= value < MAX_AMOUNT


def timestamp(value: Any) -> bool:
    return integer(value) and 0 <= value <= MAX_TIMESTAMP


def currency(value: Any) -> bool:
    return isinstance(value, str) and bool(_CURRENCY.match(value))


def status(value: Any) -> bool:
    return isinstance(value, str) and bool(_STATUS.match(value))


def flag(value: Any) -> bool:
    return isinstance(value, bool)


def mapping(value: Any) -> bool:
    return isinstance(value, dict)


@dataclass(frozen=True)
class Field:
    check: Callable[[Any], bool]
    required: bool = True


def required(check: Callable[[Any], bool]) -> Field:
    return Field(check, True)


def optional(check: Callable[[Any], bool]) -> Field:
    """May be absent or null; when present it must pass `check`."""
    return Field(check, False)


def problem(obj: Mapping[str, Any], spec: Mapping[str, Field]) -> str | None:
    """The first field of `obj` that breaks `spec`, described; None if all fit."""
    for name, field in spec.items():
        value = obj.get(name)
        if value is None:
            if field.required:
                return f"data.object.{name} is missing"
            continue
        if not field.check(value):
            return f"data.object.{name} is not a valid {field.check.__name__.replace('_', ' ')}"
    return None


def dig(obj: Any, *path: str, check: Callable[[Any], bool] = text) -> Any:
    """A nested optional value, or None when absent or of the wrong kind."""
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj if obj is not None and check(obj) else None
