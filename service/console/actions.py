"""One way to press a button: call the domain function, record it, say how it went."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash

from ..audit import trail
from ..errors import ApiError
from ..extensions import db

T = TypeVar("T")


def act(
    action: str,
    target: str | None,
    call: Callable[[], T],
    done: str | Callable[[T], str],
    status: int = 200,
    detail: Callable[[T], dict[str, Any]] | None = None,
    private_target: bool = False,
) -> T | None:
    """The same domain call as the admin API, on record with the status it
    would have answered there; the outcome is flashed on the next page.
    `private_target`: the target is customer data (stored, never logged)."""
    try:
        result = call()
    except ApiError as exc:
        db.session.rollback()
        trail.record(action, target, exc.status, private_target=private_target)
        flash(exc.message, "error")
        return None
    trail.record(
        action, target, status, detail(result) if detail else None, private_target=private_target
    )
    flash(done(result) if callable(done) else done, "ok")
    return result
