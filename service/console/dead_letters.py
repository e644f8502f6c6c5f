"""Dead-letter pages: filter, page through, inspect, replay one or every match."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ..email import dlq
from ..email.templates import TEMPLATES, render
from .actions import act
from .blueprint import PAGE_SIZES, console, page_size

COUNT_CAP = 10_000  # the list says "10000+" past this; the confirmation counts exactly


@console.get("/dead-letters")
def dead_letters() -> str:
    filters = dlq.Filter.from_args(request.args)
    limit = page_size()
    cursor = request.args.get("cursor") or None
    rows, next_cursor = dlq.page(filters, limit, cursor)
    # A first page that is also the last one has already counted the matches.
    matching = len(rows) if not cursor and not next_cursor else dlq.count(filters, COUNT_CAP)
    return render_template(
        "console/dead_letters.html",
        rows=[dlq.summary(row) for row in rows],
        args=filters.as_args(),
        limit=limit,
        page_sizes=PAGE_SIZES,
        next_cursor=next_cursor,
        deeper=bool(cursor),
        matching=min(matching, COUNT_CAP),
        more=matching > COUNT_CAP,
        counts=dlq.counts(),
        templates=TEMPLATES,
    )


def _rendered(message: dict[str, Any]) -> dict[str, Any]:
    try:
        email = render(message["template"], message["context"] or {})
    except Exception as exc:  # a template that does not render is why some letters are dead
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"subject": email.subject, "text": email.text, "html": email.html}


@console.get("/dead-letters/<int:message_id>")
def dead_letter(message_id: int) -> str:
    message = dlq.detail(dlq.get(message_id))
    return render_template("console/dead_letter.html", m=message, email=_rendered(message))


@console.post("/dead-letters/<int:message_id>/replay")
def replay(message_id: int) -> Response:
    act(
        "dlq.replay",
        str(message_id),
        lambda: dlq.replay(message_id),
        f"Message {message_id} is back in the send queue with fresh attempts.",
        status=202,
    )
    return redirect(url_for("console.dead_letter", message_id=message_id), 303)


@console.get("/dead-letters/replay")
def confirm_replay() -> str:
    filters = dlq.Filter.from_args(request.args)
    return render_template(
        "console/confirm_replay.html", args=filters.as_args(), matching=dlq.count(filters)
    )


@console.post("/dead-letters/replay")
def replay_matching() -> Response:
    filters = dlq.Filter.from_args(request.form)
    act(
        "dlq.replay_matching",
        None,
        lambda: dlq.replay_matching(filters),
        lambda r: f"Replayed {r['replayed']} messages ({r['in_flight']} were being sent).",
        status=202,
        detail=lambda r: {**r, "filter": filters.as_args()},
    )
    args: dict[str, Any] = filters.as_args()
    return redirect(url_for("console.dead_letters", **args), 303)
