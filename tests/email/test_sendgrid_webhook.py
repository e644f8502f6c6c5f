"""POST /v1/webhooks/sendgrid: signed events feed the suppression list and the messages."""

from __future__ import annotations

import json

import pytest

from service.email import suppression
from service.email.models import Suppression
from service.extensions import db
from service.jobstate import counters
from tests.email.helpers import message, queue
from tests.email.sendgrid_events import Signer, event

ADMIN = "email-admin-token-0123456789abcdef0123"


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
def app(make_app, signer):
    return make_app(SENDGRID_WEBHOOK_PUBLIC_KEY=signer.public_key, ADMIN_TOKEN=ADMIN)


def provider_events(name: str) -> float:
    value = counters.value("email_provider_events_total", {"event": name})
    db.session.commit()
    return value


@pytest.mark.parametrize(
    ("name", "fields", "reason"),
    [
        ("bounce", {"type": "bounce", "reason": "550 5.1.1 no such user"}, "hard_bounce"),
        ("dropped", {"reason": "Bounced Address"}, "dropped"),
        ("spamreport", {}, "spam_report"),
        ("unsubscribe", {}, "unsubscribe"),
    ],
)
def test_suppressing_events_list_the_address_and_skip_its_unsent_mail(
    app, client, signer, name, fields, reason
):
    with app.app_context():
        queued = queue(2, recipient="Ada@Example.com")
        other = queue(1, recipient="bob@example.com", prefix="bob")
    response = signer.post(client, [event(name, **fields)])
    assert response.status_code == 200, response.get_json()
    with app.app_context():
        row = db.session.get(Suppression, "ada@example.com")
        assert row is not None and row.reason == reason and row.created_at is not None
        assert [message(i).status for i in queued] == ["skipped", "skipped"]
        assert message(queued[0]).last_error == f"suppressed: {reason}"
        assert message(other[0]).status == "queued"
        assert provider_events(name) == 1


def test_a_blocked_bounce_is_soft_and_suppresses_nothing(app, client, signer):
    with app.app_context():
        [mid] = queue()
    response = signer.post(client, [event("bounce", type="blocked", outbox_id=str(mid))])
    assert response.status_code == 200
    with app.app_context():
        assert not suppression.is_suppressed("ada@example.com")
        row = message(mid)
        assert (row.status, row.provider_event) == ("queued", "blocked")
        assert provider_events("blocked") == 1 and provider_events("bounce") == 0


@pytest.mark.parametrize("name", ["delivered", "deferred"])
def test_delivery_events_are_recorded_on_the_message(app, client, signer, name):
    with app.app_context():
        [mid] = queue()
    response = signer.post(client, [event(name, outbox_id=str(mid), idempotency_key="x")])
    assert response.status_code == 200
    with app.app_context():
        row = message(mid)
        assert row.provider_event == name and row.provider_event_at is not None
        assert provider_events(name) == 1


def test_unknown_event_names_share_one_label(app, client, signer):
    assert signer.post(client, [event("martian"), event("open")]).status_code == 200
    with app.app_context():
        assert provider_events("other") == 1 and provider_events("open") == 1


def test_a_bad_signature_is_400_and_changes_nothing(app, client, signer):
    body = json.dumps([event("spamreport")]).encode()
    headers = Signer().headers(body)  # signed by someone else's key
    response = client.post("/v1/webhooks/sendgrid", data=body, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_signature"
    tampered = signer.headers(body)
    response = client.post(
        "/v1/webhooks/sendgrid", data=body.replace(b"spamreport", b"unsubscribe"), headers=tampered
    )
    assert response.status_code == 400
    assert client.post("/v1/webhooks/sendgrid", data=body).status_code == 400  # unsigned
    with app.app_context():
        assert not suppression.is_suppressed("ada@example.com")
        assert provider_events("spamreport") == 0


def test_not_json_is_400(app, client, signer):
    body = b"not json"
    response = client.post("/v1/webhooks/sendgrid", data=body, headers=signer.headers(body))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_payload"


def test_without_the_key_production_answers_500(make_app, signer):
    app = make_app(
        APP_ENV="production",
        ADMIN_TOKEN=ADMIN,
        METRICS_TOKEN="email-metrics-token-abcdef0123456789abcd",
        EMAIL_BACKEND="smtp",
        SMTP_URL="smtp://127.0.0.1:2525",
    )
    response = signer.post(app.test_client(), [event("spamreport")])
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "server_misconfigured"


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN}"}


def test_admin_lists_and_removes_suppressions(app, client, signer):
    signer.post(client, [event("spamreport", email="b@example.com"), event("unsubscribe")])
    listed = client.get("/v1/admin/suppressions", headers=auth()).get_json()
    assert [(s["address"], s["reason"]) for s in listed["suppressions"]] == [
        ("ada@example.com", "unsubscribe"),
        ("b@example.com", "spam_report"),
    ]
    assert all(s["created_at"] for s in listed["suppressions"])
    page = client.get("/v1/admin/suppressions?limit=1", headers=auth()).get_json()
    assert len(page["suppressions"]) == 1 and page["next_cursor"] == "ada@example.com"
    assert client.get("/v1/admin/suppressions").status_code == 401
    assert client.delete("/v1/admin/suppressions/B@example.com", headers=auth()).status_code == 200
    assert client.delete("/v1/admin/suppressions/b@example.com", headers=auth()).status_code == 404
    with app.app_context():
        assert not suppression.is_suppressed("b@example.com")


def test_cli_lists_and_removes_suppressions(app, client, signer):
    signer.post(client, [event("dropped", email="c@example.com", reason="Invalid")])
    cli = app.test_cli_runner()
    listed = cli.invoke(args=["email", "suppressions", "list"])
    assert listed.exit_code == 0 and "c@example.com\tdropped\t" in listed.output
    assert cli.invoke(args=["email", "suppressions", "remove", "c@example.com"]).exit_code == 0
    assert cli.invoke(args=["email", "suppressions", "remove", "c@example.com"]).exit_code == 1


def test_round_trip_the_outbox_id_sent_as_custom_arg_comes_back_on_events(
    make_app, signer, sendgrid
):
    fake, base = sendgrid
    app = make_app(
        EMAIL_BACKEND="sendgrid",
        SENDGRID_API_KEY="SG.test-key-0123456789abcdef0123456789",
        SENDGRID_API_BASE=base,
        SENDGRID_WEBHOOK_PUBLIC_KEY=signer.public_key,
    )
    from service.email import dispatch

    with app.app_context():
        [mid] = queue()
        assert dispatch.dispatch_queued() == {"delivered": 1}
    custom_args = fake.requests[0]["json"]["custom_args"]
    assert custom_args["outbox_id"] == str(mid)
    # SendGrid echoes custom args as top-level keys of each event.
    delivered = event("delivered", **custom_args)
    assert signer.post(app.test_client(), [delivered]).status_code == 200
    with app.app_context():
        row = message(mid)
        assert (row.status, row.provider_event) == ("delivered", "delivered")
