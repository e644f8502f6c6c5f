import pytest

PROD = {
    "APP_ENV": "production",
    "EMAIL_BACKEND": "smtp",
    "SMTP_URL": "smtp://127.0.0.1:2525",
}
TOKEN = "scrape-token-0123456789abcdef0123456789"


def _get(client, how: str):
    if how == "missing":
        return client.get("/metrics")
    if how == "wrong-header":
        return client.get("/metrics", headers={"Authorization": "Bearer nope"})
    if how == "wrong-query":
        return client.get("/metrics?token=nope")
    if how == "header":
        return client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    if how == "query":
        return client.get(f"/metrics?token={TOKEN}")
    if how == "basic":
        return client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    raise AssertionError(how)


@pytest.mark.parametrize(
    ("env", "token", "how", "status"),
    [
        # development, no token configured: open
        ({}, None, "missing", 200),
        ({}, None, "wrong-header", 200),
        # development with a token set: required
        ({}, TOKEN, "missing", 401),
        ({}, TOKEN, "wrong-header", 401),
        ({}, TOKEN, "wrong-query", 401),
        ({}, TOKEN, "basic", 401),
        ({}, TOKEN, "header", 200),
        ({}, TOKEN, "query", 200),
        # production: always required
        (PROD, TOKEN, "missing", 401),
        (PROD, TOKEN, "wrong-header", 401),
        (PROD, TOKEN, "wrong-query", 401),
        (PROD, TOKEN, "header", 200),
        (PROD, TOKEN, "query", 200),
        (PROD, None, "missing", 500),
        (PROD, None, "header", 500),
    ],
)
def test_metrics_auth_matrix(make_app, env, token, how, status):
    overrides = {"APP_ENV": "development", **env}
    if token:
        overrides["METRICS_TOKEN"] = token
    client = make_app(**overrides).test_client()
    response = _get(client, how)
    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json()["error"]["code"] == "unauthorized"
    elif status == 500:
        error = response.get_json()["error"]
        assert error["code"] == "server_misconfigured"
        assert "METRICS_TOKEN" in error["message"]
    else:
        assert response.content_type.startswith("text/plain")
        assert b"metrics_database_up" in response.data


def test_token_comparison_is_constant_time(monkeypatch, make_app):
    import hmac

    import service.auth as auth

    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    client = make_app(METRICS_TOKEN=TOKEN).test_client()
    assert client.get("/metrics?token=nope").status_code == 401
    assert calls == [(b"nope", TOKEN.encode())]
