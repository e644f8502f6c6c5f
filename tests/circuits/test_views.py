"""GET /v1/admin/circuits, POST /v1/admin/circuits/<name>/reset, the CLI, /metrics."""

from __future__ import annotations

from service.circuits import breaker
from service.extensions import db
from tests.helpers import sample_value


def open_email(app, failures: int = 5) -> None:
    with app.app_context():
        for _ in range(failures):
            breaker.record_failure("email", "Connection refused")
        db.session.remove()


def test_lists_both_circuits(client):
    body = client.get("/v1/admin/circuits").get_json()
    assert [c["name"] for c in body["circuits"]] == ["email", "stripe"]
    assert {c["state"] for c in body["circuits"]} == {"closed"}


def test_reset_closes_an_open_circuit(app, client):
    open_email(app)
    email = client.get("/v1/admin/circuits").get_json()["circuits"][0]
    assert email["state"] == "open" and email["value"] == 1
    assert email["last_error"] == "Connection refused" and email["retry_after"]
    response = client.post("/v1/admin/circuits/email/reset")
    assert response.status_code == 200
    assert response.get_json()["state"] == "closed"


def test_reset_of_an_unknown_circuit_is_404(client):
    response = client.post("/v1/admin/circuits/pigeon/reset")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_circuit"


def test_admin_token_is_required_when_set(make_app):
    client = make_app(ADMIN_TOKEN="adm-secret-1-0123456789abcdef0123456789").test_client()
    assert client.get("/v1/admin/circuits").status_code == 401
    assert client.post("/v1/admin/circuits/email/reset").status_code == 401
    ok = client.get(
        "/v1/admin/circuits",
        headers={"Authorization": "Bearer adm-secret-1-0123456789abcdef0123456789"},
    )
    assert ok.status_code == 200


def test_circuit_state_metric_always_shows_both(app, client):
    text = client.get("/metrics").text
    assert sample_value(text, "circuit_state", circuit="email") == 0
    assert sample_value(text, "circuit_state", circuit="stripe") == 0
    open_email(app)
    text = client.get("/metrics").text
    assert sample_value(text, "circuit_state", circuit="email") == 1
    assert sample_value(text, "circuit_state", circuit="stripe") == 0


def test_cli_reset_and_list(app, runner):
    open_email(app)
    result = runner.invoke(args=["circuits", "reset", "email"])
    assert result.exit_code == 0, result.output
    assert "email: closed" in result.output
    listed = runner.invoke(args=["circuits", "list"])
    assert '"state": "closed"' in listed.output
    assert runner.invoke(args=["circuits", "reset", "pigeon"]).exit_code != 0
