"""Who may call /metrics and the admin API (docs/SECURITY.md, "Tokens")."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from .tokens import ADMIN, METRICS, PROD, READONLY, bearer

REMOTE = {"REMOTE_ADDR": "203.0.113.9"}
ADMIN_URL = "/v1/admin/circuits"


@pytest.mark.parametrize("url", [ADMIN_URL, "/metrics", "/v1/admin/nope"])
def test_without_tokens_only_loopback_clients_get_in(make_app, url):
    client = make_app(APP_ENV="development").test_client()
    from_afar = client.get(url, environ_base=REMOTE)
    assert from_afar.status_code == 401
    assert from_afar.headers["WWW-Authenticate"].startswith("Bearer")
    assert from_afar.get_json()["error"]["code"] == "unauthorized"
    assert client.get(url, environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code in (200, 404)
    assert client.get(url, environ_base={"REMOTE_ADDR": "127.8.9.10"}).status_code in (200, 404)
    assert client.get(url, environ_base={"REMOTE_ADDR": "::1"}).status_code in (200, 404)


def test_with_tokens_a_remote_client_with_the_token_gets_in(make_app):
    client = make_app(ADMIN_TOKEN=ADMIN, METRICS_TOKEN=METRICS).test_client()
    assert client.get(ADMIN_URL, headers=bearer(ADMIN), environ_base=REMOTE).status_code == 200
    assert client.get("/metrics", headers=bearer(METRICS), environ_base=REMOTE).status_code == 200


def test_admin_token_in_the_query_string_is_refused(make_app):
    client = make_app(ADMIN_TOKEN=ADMIN).test_client()
    response = client.get(f"{ADMIN_URL}?token={ADMIN}")
    assert response.status_code == 401
    assert "Authorization header" in response.get_json()["error"]["message"]
    # Never accepted, not even next to a valid header.
    assert client.get(f"{ADMIN_URL}?token={ADMIN}", headers=bearer(ADMIN)).status_code == 401
    assert client.get(ADMIN_URL, headers=bearer(ADMIN)).status_code == 200


def test_metrics_keeps_the_query_token(make_app):
    client = make_app(METRICS_TOKEN=METRICS).test_client()
    assert client.get(f"/metrics?token={METRICS}").status_code == 200


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/v1/admin/does-not-exist"),
        ("get", "/v1/admin"),
        ("delete", ADMIN_URL),  # wrong method
        ("put", "/v1/admin/jobs/status"),
        ("options", ADMIN_URL),
        ("options", "/metrics"),
        ("post", "/metrics"),
    ],
)
@pytest.mark.parametrize("env", [{}, PROD], ids=["development", "production"])
def test_auth_comes_before_routing(make_app, env, method, url):
    client = make_app(**env, ADMIN_TOKEN=ADMIN, METRICS_TOKEN=METRICS).test_client()
    response = getattr(client, method)(url)
    assert response.status_code == 401, response.get_data(as_text=True)
    assert "Allow" not in response.headers
    token = METRICS if url == "/metrics" else ADMIN
    authed = getattr(client, method)(url, headers=bearer(token))
    assert authed.status_code in (200, 404, 405)


def test_readonly_token_reads_but_never_writes(make_app):
    client = make_app(**PROD, ADMIN_TOKEN=ADMIN, ADMIN_READONLY_TOKEN=READONLY).test_client()
    assert client.get(ADMIN_URL, headers=bearer(READONLY)).status_code == 200
    assert client.get("/v1/admin/jobs/status", headers=bearer(READONLY)).status_code == 200
    for method, url in [
        ("post", "/v1/admin/circuits/email/reset"),
        ("post", "/v1/admin/jobs/email-dlq/run"),
        ("post", "/v1/admin/export-dead-letter/replay"),
        ("delete", ADMIN_URL),
        ("patch", ADMIN_URL),
    ]:
        response = getattr(client, method)(url, headers=bearer(READONLY))
        assert response.status_code == 403, (method, url)
        assert response.get_json()["error"]["code"] == "forbidden"
    assert client.post("/v1/admin/circuits/email/reset", headers=bearer(ADMIN)).status_code == 200
    # The readonly token is no metrics token.
    assert client.get("/metrics", headers=bearer(READONLY)).status_code == 500


def test_readonly_alone_in_production(make_app):
    client = make_app(**PROD, ADMIN_READONLY_TOKEN=READONLY).test_client()
    assert client.get(ADMIN_URL, headers=bearer(READONLY)).status_code == 200
    missing = client.get(ADMIN_URL)
    assert missing.status_code == 500
    assert missing.get_json()["error"]["code"] == "server_misconfigured"


def test_caller_role(make_app):
    from service.auth import caller_role

    app: Flask = make_app(ADMIN_TOKEN=ADMIN, ADMIN_READONLY_TOKEN=READONLY)
    roles = []

    @app.get("/v1/admin/whoami")
    def whoami():
        roles.append(caller_role())
        return {"role": caller_role()}

    client = app.test_client()
    assert client.get("/v1/admin/whoami", headers=bearer(ADMIN)).get_json() == {"role": "admin"}
    assert client.get("/v1/admin/whoami", headers=bearer(READONLY)).get_json() == {
        "role": "readonly"
    }
    with app.test_request_context("/healthz"):
        assert caller_role() is None


def test_start_up_warns_once_which_routes_are_open(make_app, caplog):
    caplog.set_level(logging.WARNING, logger="service.auth")
    make_app(APP_ENV="development")
    lines = [r for r in caplog.records if r.name == "service.auth"]
    assert len(lines) == 1
    assert "/v1/admin/*" in lines[0].getMessage() and "/metrics" in lines[0].getMessage()
    assert "loopback" in lines[0].getMessage()
    caplog.clear()
    make_app(**PROD, ADMIN_TOKEN=ADMIN, METRICS_TOKEN=METRICS)
    make_app(ADMIN_TOKEN=ADMIN, METRICS_TOKEN=METRICS)
    assert not [r for r in caplog.records if r.name == "service.auth"]


def test_production_without_tokens_is_misconfigured_even_from_loopback(make_app):
    client = make_app(**PROD).test_client()
    for url in (ADMIN_URL, "/metrics"):
        response = client.get(url)
        assert response.status_code == 500
        assert response.get_json()["error"]["code"] == "server_misconfigured"


def test_role_for_token(make_app):
    from service.auth import role_for_token

    settings = make_app(ADMIN_TOKEN=ADMIN, ADMIN_READONLY_TOKEN=READONLY).config["SETTINGS"]
    assert role_for_token(settings, ADMIN) == "admin"
    assert role_for_token(settings, READONLY) == "readonly"
    assert role_for_token(settings, METRICS) is None
    assert role_for_token(settings, None) is None
    assert role_for_token(settings, "") is None


def test_console_pages_need_a_session_whatever_the_bearer_token(make_app):
    """The console is not the admin API: a bearer token opens no page, every
    console route (but sign-in and its stylesheet) sends a stranger to sign in."""
    app = make_app(**PROD, ADMIN_TOKEN=ADMIN, ADMIN_READONLY_TOKEN=READONLY)
    client = app.test_client()
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/console")]
    assert len(rules) >= 15
    for rule in rules:
        if rule.endpoint in ("console.sign_in", "console.static"):
            continue
        url = (
            rule.rule.replace("<int:message_id>", "1")
            .replace("<event_id>", "e")
            .replace("<name>", "email")
        )
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, headers=bearer(ADMIN), environ_base=REMOTE)
            assert response.status_code == 302, (method, url)
            assert response.headers["Location"].startswith("/console/sign-in")
