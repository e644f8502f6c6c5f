from flask import abort

from tests.helpers import label_values, sample_sum, sample_value


def _scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _count(text, method, path, status_class):
    return (
        sample_sum(
            text,
            "http_request_latency_seconds_count",
            method=method,
            path=path,
            status_class=status_class,
        )
        or 0
    )


def test_requests_are_labelled_by_route_template(make_app):
    app = make_app()

    @app.get("/things/<int:thing_id>")
    def thing(thing_id):
        return {"id": thing_id}

    client = app.test_client()
    before = _scrape(client)
    for i in range(3):
        assert client.get(f"/things/{i}").status_code == 200
    after = _scrape(client)
    assert (
        _count(after, "GET", "/things/<int:thing_id>", "2xx")
        - _count(before, "GET", "/things/<int:thing_id>", "2xx")
        == 3
    )
    assert not any(
        p.startswith("/things/0")
        for p in label_values(after, "http_request_latency_seconds_count", "path")
    )


def test_unknown_paths_share_one_label(client):
    before = _scrape(client)
    for i in range(25):
        assert client.get(f"/no/such/{i}").status_code == 404
    after = _scrape(client)
    paths = label_values(after, "http_request_latency_seconds_count", "path")
    assert not any(p.startswith("/no/such") for p in paths)
    assert (
        _count(after, "GET", "<unmatched>", "4xx") - _count(before, "GET", "<unmatched>", "4xx")
        == 25
    )


def test_unhandled_exception_is_a_counted_json_500(make_app):
    app = make_app()

    @app.get("/explode")
    def explode():
        raise RuntimeError("boom with secret detail")

    @app.get("/unavailable")
    def unavailable():
        abort(503)

    client = app.test_client()
    before = _scrape(client)
    response = client.get("/explode")
    assert response.status_code == 500
    assert response.get_json() == {
        "error": {"code": "internal_error", "message": "The server failed to handle the request."}
    }
    assert client.get("/unavailable").status_code == 503
    after = _scrape(client)

    def five(text, path):
        return sample_sum(text, "http_5xx_total", method="GET", path=path, status_class="5xx") or 0

    assert five(after, "/explode") - five(before, "/explode") == 1
    assert five(after, "/unavailable") - five(before, "/unavailable") == 1
    assert _count(after, "GET", "/explode", "5xx") - _count(before, "GET", "/explode", "5xx") == 1


def test_http_errors_use_the_json_error_body(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]
    assert client.get("/nope").get_json()["error"]["code"] == "not_found"


def test_request_id_is_taken_or_generated(client):
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id;<x>"}).headers[
        "X-Request-ID"
    ]
    assert len(generated) == 32 and generated != "bad id;<x>"


def test_build_info_and_database_up_are_exposed(client):
    text = _scrape(client)
    assert sample_value(text, "metrics_database_up") == 1
    assert sample_value(text, "service_build_info", version="0.1.0", commit="unknown") == 1


def test_database_families_are_left_out_when_database_is_down(make_app):
    from tests.helpers import free_port

    client = make_app(DATABASE_URL=f"postgresql://x@127.0.0.1:{free_port()}/none").test_client()
    text = _scrape(client)
    assert sample_value(text, "metrics_database_up") == 0


def test_metrics_answer_within_seconds_when_database_hangs(make_app):
    import time

    from service.observability.collector import SCRAPE_DB_TIMEOUT_SECONDS
    from tests.helpers import silent_server

    with silent_server() as port:
        client = make_app(DATABASE_URL=f"postgresql://root@127.0.0.1:{port}/hang").test_client()
        started = time.monotonic()
        response = client.get("/metrics")
        # Twice the scrape's own database bound, for a loaded machine.
        assert time.monotonic() - started < 2 * SCRAPE_DB_TIMEOUT_SECONDS
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert sample_value(text, "metrics_database_up") == 0
    assert "job_runner_up" not in text  # database-backed families left out
    assert "http_request_latency_seconds" in text  # per-process families as usual


def test_unlisted_methods_are_other_and_every_status_class_is_named(make_app):
    """WebDAV-style or invented methods share the one `OTHER` label; 1xx and
    3xx answers are classed like the rest (not folded into 2xx or dropped)."""
    from flask import Response, redirect

    app = make_app()

    @app.route("/dav", methods=["PROPFIND", "BREW"])
    def dav():
        return {"ok": True}

    @app.get("/moved")
    def moved():
        return redirect("/healthz", code=302)

    @app.get("/early")
    def early():
        return Response(status=103)

    client = app.test_client()
    before = _scrape(client)
    assert client.open("/dav", method="PROPFIND").status_code == 200
    assert client.open("/dav", method="BREW").status_code == 200
    assert client.get("/moved").status_code == 302
    assert client.get("/early").status_code == 103
    after = _scrape(client)
    assert _count(after, "OTHER", "/dav", "2xx") - _count(before, "OTHER", "/dav", "2xx") == 2
    assert _count(after, "GET", "/moved", "3xx") - _count(before, "GET", "/moved", "3xx") == 1
    assert _count(after, "GET", "/early", "1xx") - _count(before, "GET", "/early", "1xx") == 1
    methods = label_values(after, "http_request_latency_seconds_count", "method")
    assert "PROPFIND" not in methods and "BREW" not in methods
