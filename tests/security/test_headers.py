"""Security headers on every response and the app-wide body limit."""

from __future__ import annotations

from .tokens import ADMIN, METRICS, bearer

MIB = 1024 * 1024


def test_nosniff_everywhere_no_store_on_sensitive_responses(make_app):
    client = make_app(ADMIN_TOKEN=ADMIN, METRICS_TOKEN=METRICS).test_client()
    for url, headers, no_store in [
        ("/healthz", {}, False),
        ("/readyz", {}, False),
        ("/nowhere", {}, False),
        ("/metrics", bearer(METRICS), True),
        ("/metrics", {}, True),  # the 401 too
        ("/v1/admin/circuits", bearer(ADMIN), True),
        ("/v1/admin/export-dead-letter?format=csv", bearer(ADMIN), True),
        ("/v1/admin/nope", {}, True),
    ]:
        response = client.get(url, headers=headers)
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        assert (response.headers.get("Cache-Control") == "no-store") is no_store, url


def test_a_body_over_one_mib_gets_413_before_any_view_reads_it(make_app):
    client = make_app(ADMIN_TOKEN=ADMIN).test_client()
    for url in ("/v1/admin/export-dead-letter/replay", "/v1/admin/circuits/email/reset"):
        response = client.post(
            url,
            data=b"{" + b" " * MIB + b"}",
            headers={**bearer(ADMIN), "Content-Type": "application/json"},
        )
        assert response.status_code == 413, url
        assert response.get_json()["error"]["code"] == "payload_too_large"
    under = client.post(
        "/v1/admin/export-dead-letter/replay",
        data=b'{"status": "dead"}' + b" " * 1000,
        headers={**bearer(ADMIN), "Content-Type": "application/json"},
    )
    assert under.status_code == 202


def test_a_chunked_body_over_one_mib_gets_413(make_app):
    """No Content-Length to check: the limit applies while the body is read."""
    client = make_app(ADMIN_TOKEN=ADMIN).test_client()
    response = client.post(
        "/v1/admin/export-dead-letter/replay",
        data=b"{" + b" " * (2 * MIB) + b"}",
        headers={
            **bearer(ADMIN),
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_a_chunked_body_under_the_limit_reaches_the_view_whole(make_app):
    client = make_app(ADMIN_TOKEN=ADMIN).test_client()
    response = client.post(
        "/v1/admin/export-dead-letter/replay",
        data=b'{"status": "dead"}' + b" " * (MIB - 100),
        headers={
            **bearer(ADMIN),
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 202
    assert response.get_json()["status"] == "dead"
