"""Who gets into /console and what they may press: sign-in, session, CSRF, roles."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from sqlalchemy import select

from service.audit.models import AuditEntry
from service.email.models import EmailMessage
from service.extensions import db
from tests.email.helpers import queue

from .helpers import ADMIN_TOKEN, READONLY_TOKEN, TOKENS, csrf_token, post_form, post_forms, sign_in

PROD = {"APP_ENV": "production", "EMAIL_BACKEND": "smtp", "SMTP_URL": "smtp://127.0.0.1:2525"}


def console_routes(app: Flask) -> list[tuple[str, str]]:
    """(method, path) of every console route, with sample arguments."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console") or rule.endpoint == "console.static":
            continue
        path = rule.rule.replace("<int:message_id>", "1").replace("<event_id>", "evt_1")
        path = path.replace("<name>", "email")
        found += [(m, path) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_signed_out_every_page_redirects_to_sign_in(make_app):
    app = make_app(**TOKENS)
    client = app.test_client()
    routes = console_routes(app)
    assert len(routes) >= 15
    for method, path in routes:
        if path == "/console/sign-in":
            continue
        response = client.open(path, method=method)
        assert response.status_code == 302, (method, path)
        assert response.headers["Location"].startswith("/console/sign-in"), (method, path)


@pytest.mark.parametrize(
    ("who", "get_status", "post_status"),
    [("admin", 200, "not 403"), ("readonly", 200, 403)],
)
def test_auth_matrix_of_console_pages(make_app, who, get_status, post_status):
    app = make_app(**TOKENS)
    client = app.test_client()
    sign_in(client, ADMIN_TOKEN if who == "admin" else READONLY_TOKEN)
    token = csrf_token(client.get("/console/").text)
    for method, path in console_routes(app):
        if path in ("/console/sign-in", "/console/sign-out"):
            continue
        if method == "GET":
            expected = 404 if path.endswith(("/1", "/evt_1")) else get_status
            assert client.get(path).status_code == expected, path
        else:
            status = client.post(path, data={"csrf_token": token}).status_code
            assert (status != 403) if post_status == "not 403" else status == 403, path


def test_sign_in_sets_a_strict_http_only_cookie_secure_in_production(make_app):
    for env, secure in (({}, False), (PROD, True)):
        client = make_app(**TOKENS, **env).test_client()
        response = sign_in(client, ADMIN_TOKEN)
        assert response.status_code == 303
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
        assert "Expires=" in cookie
        assert ("Secure" in cookie) is secure
        assert ADMIN_TOKEN not in cookie


def test_wrong_token_is_refused_and_recorded(make_app):
    app = make_app(**TOKENS)
    client = app.test_client()
    response = sign_in(client, "x" * 40)
    assert response.status_code == 401
    assert client.get("/console/").status_code == 302
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.role, entry.status) == ("console.sign_in_failed", "anonymous", 401)


def test_sign_in_attempts_are_rate_limited_per_client_address(make_app):
    app = make_app(**TOKENS)
    client = app.test_client()
    for _ in range(5):
        assert sign_in(client, "wrong-" * 7).status_code == 401
    assert sign_in(client, ADMIN_TOKEN).status_code == 429  # even the right token, for now
    other = app.test_client()  # another address is not held back
    page = other.get("/console/sign-in", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    response = other.post(
        "/console/sign-in",
        data={"csrf_token": csrf_token(page.text), "token": ADMIN_TOKEN},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert response.status_code == 303


def test_sign_in_without_csrf_token_is_refused(make_app):
    client = make_app(**TOKENS).test_client()
    client.get("/console/sign-in")
    response = client.post("/console/sign-in", data={"token": ADMIN_TOKEN})
    assert response.status_code == 400
    assert client.get("/console/").status_code == 302


def test_post_without_csrf_token_is_refused_and_changes_nothing(make_app):
    app = make_app(**TOKENS)
    with app.app_context():
        [message_id] = queue(1)
        db.session.execute(db.update(EmailMessage).values(status="dead"))
        db.session.commit()
    client = app.test_client()
    sign_in(client, ADMIN_TOKEN)
    response = client.post(f"/console/dead-letters/{message_id}/replay")
    assert response.status_code == 400
    assert "text/html" in response.content_type
    with app.app_context():
        assert db.session.get(EmailMessage, message_id).status == "dead"


def test_read_only_session_sees_no_buttons_and_its_posts_get_403(make_app):
    app = make_app(**TOKENS)
    with app.app_context():
        [message_id] = queue(1)
        db.session.execute(db.update(EmailMessage).values(status="dead"))
        db.session.commit()
    client = app.test_client()
    sign_in(client, READONLY_TOKEN)
    for path in ("/", "/dead-letters", f"/dead-letters/{message_id}", "/jobs", "/circuits"):
        html = client.get(f"/console{path}").text
        assert post_forms(html) == ["/console/sign-out"], path
        assert "Read-only session" in html
    confirm = client.get("/console/dead-letters/replay?status=dead").text
    assert post_forms(confirm) == ["/console/sign-out"] and "confirm-replay" not in confirm
    response = post_form(client, f"/console/dead-letters/{message_id}/replay")
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(EmailMessage, message_id).status == "dead"
    assert post_form(client, "/console/sign-out").status_code == 303  # may still leave


def test_sign_out_ends_the_session(make_app):
    client = make_app(**TOKENS).test_client()
    sign_in(client, ADMIN_TOKEN)
    assert client.get("/console/jobs").status_code == 200
    assert post_form(client, "/console/sign-out").status_code == 303
    assert client.get("/console/jobs").status_code == 302


def test_rotating_a_token_ends_the_sessions_opened_with_it(make_app):
    client = make_app(**TOKENS).test_client()
    sign_in(client, READONLY_TOKEN)
    cookie = client.get_cookie("console_session", path="/console")
    rotated = make_app(**{**TOKENS, "ADMIN_READONLY_TOKEN": "another-readonly-token-0123456789"})
    other = rotated.test_client()
    other.set_cookie("console_session", cookie.value, path="/console")
    assert other.get("/console/").status_code == 302


def test_session_expires_after_eight_hours(make_app, monkeypatch):
    client = make_app(**TOKENS).test_client()
    sign_in(client, ADMIN_TOKEN)
    assert client.get("/console/").status_code == 200
    later = time.time() + 8 * 3600 + 5
    monkeypatch.setattr("service.console.session.time.time", lambda: later)
    assert client.get("/console/").status_code == 302


def test_without_admin_token_outside_production_only_loopback_gets_in(make_app):
    client = make_app().test_client()
    assert client.get("/console/").status_code == 200  # the test client is 127.0.0.1
    remote = client.get("/console/", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert remote.status_code == 302


def test_next_parameter_cannot_leave_the_console(make_app):
    client = make_app(**TOKENS).test_client()
    page = client.get("/console/sign-in?next=//evil.example/")
    response = client.post(
        "/console/sign-in",
        data={"csrf_token": csrf_token(page.text), "token": ADMIN_TOKEN, "next": "//evil.example/"},
    )
    assert response.headers["Location"] == "/console/"


def test_pages_are_not_cached_and_run_no_script(make_app):
    client = make_app(**TOKENS).test_client()
    sign_in(client, ADMIN_TOKEN)
    response = client.get("/console/")
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "<script" not in response.text
    with client.get("/console/static/console.css") as css:
        assert css.status_code == 200 and "text/css" in css.content_type


def test_a_link_from_another_site_reloads_once_to_send_the_strict_cookie(make_app):
    client = make_app(**TOKENS).test_client()
    sign_in(client, ADMIN_TOKEN)
    # The browser withholds a SameSite=Strict cookie on a cross-site navigation.
    fresh = make_app(**TOKENS).test_client()
    response = fresh.get("/console/jobs", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 200
    assert '<meta http-equiv="refresh" content="0">' in response.text
    assert "Set-Cookie" not in response.headers  # the session it has is left alone
    same_site = fresh.get("/console/jobs", headers={"Sec-Fetch-Site": "same-origin"})
    assert same_site.status_code == 302  # the reload itself: no cookie, so sign in
    assert fresh.post("/console/jobs/email-dlq/run").status_code == 302  # never for a POST
