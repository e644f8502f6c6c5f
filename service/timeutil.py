"""UTC helpers: every datetime column is `UtcDateTime` (aware UTC on both
backends); these normalise values that come from elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def isoformat(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat().replace("+00:00", "Z") if value else None


@overload
def timestamp(value: datetime) -> float: ...
@overload
def timestamp(value: None) -> None: ...
def timestamp(value: datetime | None) -> float | None:
    value = as_utc(value)
    return value.timestamp() if value else None
