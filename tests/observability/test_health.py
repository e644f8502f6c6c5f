import time

from service.observability.views import READY_DB_TIMEOUT_SECONDS
from tests.helpers import free_port, silent_server

# Functional bound: twice the probe's own bound, for a loaded 2-core machine.
BOUND = 2 * READY_DB_TIMEOUT_SECONDS


def test_healthz_does_not_touch_the_database(make_app):
    app = make_app(DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_without_worker_is_degraded(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True
    assert body["database"]["latency_ms"] >= 0
    assert body["jobs"]["ok"] is False


def test_readyz_fails_fast_when_database_refuses(make_app):
    url = f"postgresql://root:hunter22@127.0.0.1:{free_port()}/nothing"
    client = make_app(DATABASE_URL=url).test_client()
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < BOUND
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "fail"
    assert body["database"]["ok"] is False and body["jobs"]["ok"] is False
    raw = response.get_data(as_text=True)
    assert "hunter22" not in raw and "127.0.0.1" not in raw and "Traceback" not in raw


def test_readyz_is_bounded_when_database_hangs(make_app):
    with silent_server() as port:
        client = make_app(DATABASE_URL=f"postgresql://root@127.0.0.1:{port}/hang").test_client()
        for _ in range(3):  # stalled probes must not pile up or slow later calls
            started = time.monotonic()
            response = client.get("/readyz")
            elapsed = time.monotonic() - started
            assert elapsed < BOUND, elapsed
            assert response.status_code == 503
            assert response.get_json()["database"] == {"ok": False, "error": "timeout"}
