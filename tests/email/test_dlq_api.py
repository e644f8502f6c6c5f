"""The dead-letter admin API: list, filter, paginate, export, inspect, replay."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import update

from service.email import dispatch
from service.email.models import EmailMessage
from service.extensions import db
from service.timeutil import utcnow
from tests.email.helpers import make_due, message, queue

BASE = "/v1/admin/export-dead-letter"


@pytest.fixture
def app(make_app, smtp):
    handler, port = smtp
    handler.rcpt_reply = "451 4.3.0 try later"
    return make_app(
        EMAIL_BACKEND="smtp",
        SMTP_URL=f"smtp://127.0.0.1:{port}?timeout=2",
        EMAIL_MAX_ATTEMPTS="2",
        CIRCUIT_FAILURE_THRESHOLD="1000",
    )


@pytest.fixture
def letters(app, smtp):
    """Three pending receipts, two dead refunds, one delivered, one queued."""
    handler, _ = smtp
    with app.app_context():
        pending = queue(3, prefix="p")
        dead = queue(2, template="refund_issued", prefix="d")
        dispatch.dispatch_queued()
        # Full jitter can make a first retry due almost at once: keep the
        # pending ones waiting so only the refunds get their second attempt.
        db.session.execute(
            update(EmailMessage)
            .where(EmailMessage.id.in_(pending))
            .values(next_attempt_at=utcnow() + timedelta(hours=1))
        )
        db.session.commit()
        make_due(*dead)
        dispatch.retry_pending()
        handler.rcpt_reply = None
        delivered = queue(1, prefix="ok")
        dispatch.dispatch_queued()
        queued = queue(1, prefix="q")
        db.session.remove()
    handler.rcpt_reply = "451 4.3.0 try later"
    return {"pending": pending, "dead": dead, "delivered": delivered, "queued": queued}


def ids(response) -> list[int]:
    return [m["id"] for m in response.get_json()["messages"]]


def test_lists_dead_letters_newest_first(client, letters):
    response = client.get(BASE)
    assert response.status_code == 200
    body = response.get_json()
    assert ids(response) == sorted(letters["pending"] + letters["dead"], reverse=True)
    assert body["counts"] == {"pending": 3, "dead": 2}
    assert body["next_cursor"] is None
    first = body["messages"][0]
    assert first["status"] == "dead" and first["attempts"] == 2
    assert "451" in first["last_error"]


@pytest.mark.parametrize(("query", "key"), [("status=pending", "pending"), ("status=dead", "dead")])
def test_filters_by_status(client, letters, query, key):
    assert ids(client.get(f"{BASE}?{query}")) == sorted(letters[key], reverse=True)


def test_filters_by_template(client, letters):
    assert ids(client.get(f"{BASE}?template=refund_issued")) == sorted(letters["dead"])[::-1]
    assert ids(client.get(f"{BASE}?template=receipt&status=dead")) == []


def test_rejects_a_status_outside_the_queue(client, letters):
    response = client.get(f"{BASE}?status=delivered")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_status"


def test_keyset_pagination_walks_every_row_once(client, letters):
    seen, cursor, pages = [], None, 0
    while True:
        url = f"{BASE}?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url).get_json()
        seen += [m["id"] for m in body["messages"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(letters["pending"] + letters["dead"], reverse=True)


def test_a_bad_cursor_is_400(client, letters):
    response = client.get(f"{BASE}?cursor=not-a-cursor")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    ("url", "headers"), [(f"{BASE}?format=csv", {}), (BASE, {"Accept": "text/csv"})]
)
def test_csv_export(client, letters, url, headers):
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [int(r["id"]) for r in rows] == sorted(letters["pending"] + letters["dead"])[::-1]
    assert {r["status"] for r in rows} == {"pending", "dead"}


def test_csv_export_defuses_formulas(app, client, letters):
    with app.app_context():
        db.session.execute(
            update(EmailMessage)
            .where(EmailMessage.id == letters["dead"][0])
            .values(last_error='=HYPERLINK("http://x")')
        )
        db.session.commit()
    text = client.get(f"{BASE}?format=csv&status=dead").get_data(as_text=True)
    assert "'=HYPERLINK" in text


def test_get_one_with_its_attempt_history(client, letters):
    dead_id = letters["dead"][0]
    body = client.get(f"{BASE}/{dead_id}").get_json()
    assert body["status"] == "dead" and body["template"] == "refund_issued"
    history = body["attempt_history"]
    assert [a["number"] for a in history] == [1, 2]
    assert [a["outcome"] for a in history] == ["failed", "dead"]
    assert all("451" in a["error"] and a["backend"] == "smtp" for a in history)
    assert body["context"]["amount_paid"] == 4900


def test_get_unknown_is_404(client, letters):
    response = client.get(f"{BASE}/999999")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_replay_requeues_with_fresh_attempts(app, client, letters):
    dead_id = letters["dead"][0]
    response = client.post(f"{BASE}/{dead_id}/replay")
    assert response.status_code == 202
    assert response.get_json()["status"] == "queued"
    with app.app_context():
        row = message(dead_id)
    assert (row.status, row.attempts, row.claimed_by) == ("queued", 0, None)
    assert client.post(f"{BASE}/{dead_id}/replay").status_code == 202  # already queued


def test_replay_of_unknown_is_404_and_of_delivered_is_409(client, letters):
    assert client.post(f"{BASE}/999999/replay").status_code == 404
    response = client.post(f"{BASE}/{letters['delivered'][0]}/replay")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "already_delivered"


def test_replay_of_a_message_being_retried_is_409(app, client, letters):
    pending_id = letters["pending"][0]
    with app.app_context():
        db.session.execute(
            update(EmailMessage)
            .where(EmailMessage.id == pending_id)
            .values(claimed_by="w", claimed_until=utcnow() + timedelta(seconds=30))
        )
        db.session.commit()
    response = client.post(f"{BASE}/{pending_id}/replay")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "in_flight"


def test_bulk_replay_by_filter(app, client, letters):
    response = client.post(f"{BASE}/replay", json={"status": "pending"})
    assert response.status_code == 202
    assert response.get_json()["replayed"] == 3
    with app.app_context():
        assert {message(i).status for i in letters["pending"]} == {"queued"}
        assert {message(i).status for i in letters["dead"]} == {"dead"}
    response = client.post(f"{BASE}/replay?status=dead&template=receipt")
    assert response.get_json()["replayed"] == 0
    response = client.post(f"{BASE}/replay", json={"status": "dead", "template": "refund_issued"})
    assert response.get_json()["replayed"] == 2


def test_bulk_replay_needs_a_status(client, letters):
    response = client.post(f"{BASE}/replay", json={})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "status_required"


def test_admin_token_guards_every_route(make_app):
    client = make_app(ADMIN_TOKEN="adm-token-9-0123456789abcdef0123456789").test_client()
    for method, url in [
        ("get", BASE),
        ("get", f"{BASE}/1"),
        ("post", f"{BASE}/1/replay"),
        ("post", f"{BASE}/replay"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_dlq_gauge_always_shows_both_statuses(client, letters):
    from tests.helpers import sample_value

    text = client.get("/metrics").text
    assert sample_value(text, "email_dlq_messages", status="pending") == 3
    assert sample_value(text, "email_dlq_messages", status="dead") == 2


def test_dlq_gauge_is_zero_when_empty(client):
    from tests.helpers import sample_value

    text = client.get("/metrics").text
    assert sample_value(text, "email_dlq_messages", status="pending") == 0
    assert sample_value(text, "email_dlq_messages", status="dead") == 0
