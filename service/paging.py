"""Keyset pagination for the admin lists: one cursor format, one limit rule.

A list is ordered newest first by a tuple of columns whose last member is
unique (`(id,)`, `(received_at, id)`); a page is the rows after the cursor
in that order, and the next cursor names the last row's key. Unlike
OFFSET, a page never skips or repeats rows when new ones arrive meanwhile.

The limit rule (README, "Admin API lists"): `limit` must be a whole number
from 1 to the list's maximum; anything else is answered 400 `invalid_limit`,
never clamped, so a caller never gets fewer rows than asked for without
being told. A cursor this module did not produce is 400 `invalid_cursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.types import TypeDecorator

from .errors import ApiError
from .extensions import db
from .timeutil import as_utc, isoformat

Key = Sequence[InstrumentedAttribute[Any]]
# Hostile cursors (docs/SECURITY.md): ours are well under this; a longer one
# is refused unread, and nesting, out-of-range ids and NUL bytes are a 400,
# never a RecursionError or a database error (500).
MAX_CURSOR_LENGTH = 1024
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


def parse_limit(raw: str | int | None, default: int, maximum: int) -> int:
    """The page size asked for, or ApiError 400 `invalid_limit`."""
    if raw is None or raw == "":
        return default
    text = str(raw).strip()
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise ApiError(400, "invalid_limit", f"limit must be a whole number from 1 to {maximum}.")
    return int(text)


def _encode_value(value: Any) -> Any:
    return isoformat(value) if isinstance(value, datetime) else value


def _decode_value(column: InstrumentedAttribute[Any], value: Any) -> Any:
    column_type = column.type
    if isinstance(column_type, TypeDecorator):  # UtcDateTime: its impl's type
        column_type = column_type.impl_instance
    python_type = column_type.python_type
    if python_type is datetime:
        if not isinstance(value, str):
            raise TypeError("not a timestamp")
        return as_utc(datetime.fromisoformat(value))
    if not isinstance(value, python_type) or isinstance(value, bool):
        raise TypeError(f"not a {python_type.__name__}")
    if isinstance(value, int) and not BIGINT_MIN <= value <= BIGINT_MAX:
        raise ValueError("out of range")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL byte")
    return value


def encode_cursor(row: Any, key: Key) -> str:
    values = [_encode_value(getattr(row, column.key)) for column in key]
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, key: Key) -> list[Any]:
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(key):
            raise ValueError("wrong shape")
        return [_decode_value(column, value) for column, value in zip(key, values, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "invalid_cursor", "The cursor is not one this API gave out.") from None


def _after(key: Key, values: list[Any]) -> Any:
    """Rows strictly after `values` in descending key order."""
    clauses = []
    for i, column in enumerate(key):
        equal = [key[j] == values[j] for j in range(i)]
        clauses.append(and_(*equal, column < values[i]))
    return or_(*clauses)


def keyset_page(
    query: Select[Any], key: Key, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """One page of `query` newest first by `key`, and the next page's cursor
    (None on the last page)."""
    if cursor:
        query = query.where(_after(key, decode_cursor(cursor, key)))
    query = query.order_by(*(column.desc() for column in key)).limit(limit + 1)
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1], key) if more else None)
