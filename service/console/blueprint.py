"""Blueprint `console` and its gate: who may see, who may press."""

from __future__ import annotations

from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from ..extensions import csrf
from . import session

console = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
PUBLIC = frozenset({"console.static", "console.sign_in"})
# The lists' page sizes (a select on each list page); anything else means the default.
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
# A read-only session may still end itself.
READONLY_POSTS = frozenset({"console.sign_out"})


@console.before_request
def _gate() -> BaseResponse | None:
    g.actor_source = "console"
    if request.endpoint in PUBLIC:
        if request.method == "POST":
            csrf.protect()
        return None
    role = session.current_role()
    if role is None and request.method == "GET" and _cross_site():
        # A link from a chat or a pager: the browser withheld the SameSite=Strict
        # cookie. Reload once from this page (same-site) so it is sent.
        return Response(render_template("console/reload.html"), content_type="text/html")
    if role is None:
        return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")))
    g.actor_role = role
    if request.method == "POST":
        if not session.can_write(role) and request.endpoint not in READONLY_POSTS:
            return _error_page(403, "Read-only session", "This session may look, not change.")
        csrf.protect()
    return None


def page_size() -> int:
    """The list page size the request asks for, if it is one of PAGE_SIZES."""
    size = request.args.get("limit", DEFAULT_PAGE_SIZE, type=int)
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


def _cross_site() -> bool:
    return request.headers.get("Sec-Fetch-Site") == "cross-site"


@console.after_request
def _headers(response: Response) -> Response:
    # Pages carry customer data: never cached; and no script may run on them.
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@console.app_template_filter("console_age")
def _age(seconds: float | None) -> str:
    """4.2 -> '4s', 3720 -> '1h 2m'."""
    if seconds is None:
        return "never"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    minutes, hours = seconds // 60, seconds // 3600
    if hours < 2:
        return f"{minutes}m"
    return f"{hours}h {minutes % 60}m" if hours < 48 else f"{hours // 24}d {hours % 24}h"


@console.app_template_filter("console_when")
def _when(iso: str | None) -> str:
    """'2026-11-27T15:04:05.123456Z' -> '2026-11-27 15:04:05'."""
    return iso[:19].replace("T", " ") if iso else "—"


@console.context_processor
def _who() -> dict[str, object]:
    role = g.get("actor_role")
    return {"role": role, "can_write": bool(role) and session.can_write(role)}


def _error_page(status: int, title: str, message: str) -> Response:
    html = render_template("console/error.html", title=title, message=message, status=status)
    return Response(html, status=status, content_type="text/html; charset=utf-8")


@console.errorhandler(CSRFError)
def _csrf_failed(exc: CSRFError) -> Response:
    return _error_page(400, "Form expired", f"{exc.description} Reload the page and try again.")


@console.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return _error_page(exc.code or 500, exc.name, exc.description or exc.name)
