"""The suppression list: find an address, see why it is listed, remove it.

Removing is the same domain call as `DELETE /v1/admin/suppressions/<address>`
and is recorded in the audit trail with the address kept out of the log. The
address travels in the form body, not the URL, so it reaches no access log.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ..email import suppression
from ..errors import ApiError
from ..extensions import db
from .actions import act
from .blueprint import PAGE_SIZES, console, page_size


@console.get("/suppressions")
def suppressions() -> str:
    starting = (request.args.get("address") or "").strip() or None
    reason = request.args.get("reason") or None
    reason = reason if reason in suppression.REASONS else None
    limit = page_size()
    cursor = request.args.get("cursor") or None
    rows, next_cursor = suppression.page(limit, cursor, starting, reason)
    return render_template(
        "console/suppressions.html",
        rows=[suppression.describe(r) for r in rows],
        args={k: v for k, v in {"address": starting, "reason": reason}.items() if v},
        limit=limit,
        page_sizes=PAGE_SIZES,
        reasons=suppression.REASONS,
        next_cursor=next_cursor,
        deeper=bool(cursor),
    )


def _remove(address: str) -> str:
    if not suppression.unsuppress(address):
        raise ApiError(404, "not_found", "That address is not suppressed.")
    db.session.commit()
    return suppression.normalize(address)


@console.post("/suppressions/remove")
def remove_suppression() -> Response:
    address = (request.form.get("address") or "").strip()
    if not address:
        abort(400, "Which address? The form sent none.")
    act(
        "suppressions.remove",
        address,
        lambda: _remove(address),
        lambda removed: f"{removed} removed from the suppression list: it will be mailed again.",
        private_target=True,
    )
    return redirect(url_for("console.suppressions"), 303)
