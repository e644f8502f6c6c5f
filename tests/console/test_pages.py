"""Console pages and buttons over the admin API's domain functions; the audit trail."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape

from sqlalchemy import select, update

from service.audit.models import AuditEntry
from service.email.models import EmailMessage
from service.extensions import db
from service.jobstate.models import JobRunRequest
from service.timeutil import utcnow
from service.webhooks.models import WebhookEvent
from tests.email.helpers import queue

from .helpers import ADMIN_TOKEN, READONLY_TOKEN, TOKENS, post_form, sign_in, store_event

BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _dead(ids: list[int], error: str = "451 4.3.0 mailbox busy", **values) -> None:
    db.session.execute(
        update(EmailMessage)
        .where(EmailMessage.id.in_(ids))
        .values(status="dead", attempts=2, last_error=error, **values)
    )
    db.session.commit()


def _audit(app) -> list[AuditEntry]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        db.session.expunge_all()
        return rows


def _ids_on(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-id="(\d+)">', html)]


def test_overview_shows_every_panel(make_app):
    app = make_app(**TOKENS, BUILD_VERSION="1.2.3", BUILD_COMMIT="abc1234")
    with app.app_context():
        _dead(queue(2, template="receipt"))
        store_event("failed")
    client = app.test_client()
    sign_in(client, ADMIN_TOKEN)
    html = client.get("/console/").text
    for needle in ("Readiness", "degraded", "1.2.3", "abc1234", "jobs-runner", "email-dlq"):
        assert needle in html, needle
    assert re.search(r'id="dlq-dead">2<', html)
    assert "receipt" in html and "stripe" in html
    for alert in ("JobHeartbeatStale", "CircuitStuckOpen", "EmailDeadLettersGrowing"):
        assert alert in html
    assert 'href="/console/runbook#circuitstuckopen"' in html
    runbook = client.get("/console/runbook").text
    assert 'id="circuitstuckopen"' in runbook and 'id="webhookerrorssustained"' in runbook


def test_dead_letters_filter_and_keyset_pages(make_app):
    app = make_app(**TOKENS)
    with app.app_context():
        receipts = queue(30, template="receipt", prefix="r")
        failed = queue(3, template="payment_failed", recipient="bo@example.com", prefix="p")
        _dead(receipts)
        _dead(failed, error="554 5.7.1 relay denied")
        old = utcnow() - timedelta(days=3)
        db.session.execute(
            update(EmailMessage).where(EmailMessage.id == failed[0]).values(created_at=old)
        )
        db.session.commit()
    client = app.test_client()
    sign_in(client, ADMIN_TOKEN)

    first = client.get("/console/dead-letters?limit=25").text
    assert _ids_on(first) == sorted(receipts + failed, reverse=True)[:25]
    cursor = re.search(r'id="next-page" href="[^"]*cursor=([^&"]+)', first).group(1)
    second = client.get(f"/console/dead-letters?limit=25&cursor={cursor}").text
    assert _ids_on(second) == sorted(receipts + failed, reverse=True)[25:]

    by = {
        "recipient=bo@example.com": failed,
        "error=RELAY": failed,
        "template=payment_failed&older_than=1d": failed[:1],
        "template=payment_failed&newer_than=1d": failed[1:],
    }
    for query, expected in by.items():
        assert sorted(_ids_on(client.get(f"/console/dead-letters?{query}").text)) == expected
    # The admin API takes the same filters (one Filter for both).
    api = client.get("/v1/admin/export-dead-letter?error=relay&newer_than=1d", headers=BEARER)
    assert sorted(m["id"] for m in api.json["messages"]) == failed[1:]
    bad = client.get("/console/dead-letters?older_than=soon")
    assert bad.status_code == 400 and "30m, 6h or 7d" in bad.text


def test_detail_shows_attempts_error_and_the_email_sandboxed(make_app):
    app = make_app(**TOKENS)
    with app.app_context():
        [message_id] = queue(1)
        _dead([message_id])
    client = app.test_client()
    sign_in(client, ADMIN_TOKEN)
    html = client.get(f"/console/dead-letters/{message_id}").text
    assert "451 4.3.0 mailbox busy" in html
    iframe = re.search(r"<iframe[^>]*>", html).group(0)
    assert 'sandbox=""' in iframe and "srcdoc=" in iframe
    assert "&lt;" in iframe  # the HTML part travels escaped in the attribute
    assert "Ada" in html  # the text part, rendered from the stored context


def test_replay_one_from_the_console_is_on_record(make_app):
    app = make_app(**TOKENS)
    with app.app_context():
        [message_id] = queue(1)
        _dead([message_id])
    client = app.test_client()
    sign_in(client, ADMIN_TOKEN)
    response = post_form(client, f"/console/dead-letters/{message_id}/replay")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).text
    assert "back in the send queue" in page
    with app.app_context():
        assert db.session.get(EmailMessage, message_id).status == "queued"
    entry = next(e for e in _audit(app) if e.action == "dlq.replay")
    assert (entry.source, entry.role, entry.target, entry.status) == (
        "console",
        "admin",
        str(message_id),
        202,
    )
    assert entry.request_id and entry.client_addr == "127.0.0.1"


def test_bulk_replay_confirms_the_count_then_replays_only_the_filter(make_app):
    app = make_app(**TOKENS)
    with app.app_context():
        receipts, others = queue(4, prefix="r"), queue(2, template="trial_ending", prefix="t")
        _dead(receipts + others)
    client = app.test_client()
    sign_in(client, ADMIN_TOKEN)
    confirm = client.get("/console/dead-letters/replay?status=dead&template=receipt").text
    assert re.search(r'id="confirm-count">4<', confirm)
    response = post_form(
        client, "/console/dead-letters/replay", {"status": "dead", "template": "receipt"}
    )
    assert response.status_code == 303
    assert "Replayed 4 messages" in client.get(response.headers["Location"]).text
    with app.app_context():
        statuses = dict(db.session.execute(select(EmailMessage.id, EmailMessage.status)).all())
    assert {statuses[i] for i in receipts} == {"queued"}
    assert {statuses[i] for i in others} == {"dead"}
    entry = next(e for e in _audit(app) if e.action == "dlq.replay_matching")
    assert entry.detail["replayed"] == 4
    assert entry.detail["filter"] == {"status": "dead", "template": "receipt"}


def test_webhook_events_masked_payload_and_reprocess(make_app):
    app = make_app(**TOKENS)
    card = {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030}
    with app.app_context():
        event_id = store_event(
            "failed",
            client_secret="pi_123_secret_abcdefghijkl",
            payment_method_details={"card": card},
            note="4242 4242 4242 4242",
        )
        store_event("processed")
    client = app.test_client()
    sign_in(client, ADMIN_TOKEN)
    listing = client.get("/console/webhook-events?status=failed").text
    assert event_id in listing and "Reprocess all failed (1)" in listing
    detail = client.get(f"/console/webhook-events/{event_id}").text
    payload = re.search(r'<pre class="block" id="payload">(.*?)</pre>', detail, re.S).group(1)
    shown = json.loads(unescape(payload))["data"]["object"]
    masked = "••••"
    assert shown["payment_method_details"]["card"] == {
        "brand": "visa",
        "last4": masked,
        "exp_month": masked,
        "exp_year": masked,
    }
    assert shown["client_secret"] == masked and shown["note"] == masked
    assert "abcdefghijkl" not in payload and "4242 4242" not in payload
    response = post_form(client, f"/console/webhook-events/{event_id}/reprocess")
    assert "ignored" in client.get(response.headers["Location"]).text
    with app.app_context():
        assert db.session.get(WebhookEvent, event_id).status == "ignored"
        store_event("failed")
    response = post_form(client, "/console/webhook-events/reprocess")
    assert "1 ignored" in client.get(response.headers["Location"]).text
    actions = [(e.action, e.status) for e in _audit(app)]
    assert ("webhooks.reprocess", 200) in actions
    assert ("webhooks.reprocess_failed", 200) in actions


def test_run_job_and_reset_circuit(make_app):
    app = make_app(**TOKENS)
    client = app.test_client()
    sign_in(client, ADMIN_TOKEN)
    response = post_form(client, "/console/jobs/email-dlq/run", page="/console/jobs")
    assert "run email-dlq now" in client.get(response.headers["Location"]).text
    with app.app_context():
        assert [r.job for r in db.session.scalars(select(JobRunRequest))] == ["email-dlq"]
    unknown = post_form(client, "/console/jobs/nope/run", page="/console/jobs")
    assert "No job named" in client.get(unknown.headers["Location"]).text
    response = post_form(client, "/console/circuits/email/reset", page="/console/circuits")
    assert "forced closed" in client.get(response.headers["Location"]).text
    actions = [(e.action, e.target, e.status) for e in _audit(app)]
    assert ("jobs.run", "email-dlq", 202) in actions
    assert ("jobs.run", "nope", 404) in actions
    assert ("circuits.reset", "email", 200) in actions
    audit_page = client.get("/console/audit").text
    assert "circuits.reset" in audit_page and "jobs.run" in audit_page


def test_admin_api_writes_are_audited_and_listed_newest_first(make_app, caplog):
    app = make_app(**TOKENS)
    with app.app_context():
        ids = queue(2)
        _dead(ids)
    client = app.test_client()
    headers = {**BEARER, "X-Request-ID": "req-audit-1"}
    assert (
        client.post(f"/v1/admin/export-dead-letter/{ids[0]}/replay", headers=headers).status_code
        == 202
    )
    assert (
        client.post("/v1/admin/export-dead-letter/999999/replay", headers=BEARER).status_code == 404
    )
    assert client.post("/v1/admin/circuits/stripe/reset", headers=BEARER).status_code == 200
    body = {"status": "dead"}
    assert (
        client.post("/v1/admin/export-dead-letter/replay", json=body, headers=BEARER).status_code
        == 202
    )
    first = client.get("/v1/admin/audit?limit=2", headers=BEARER).json
    assert [e["action"] for e in first["entries"]] == ["dlq.replay_matching", "circuits.reset"]
    rest = client.get(f"/v1/admin/audit?cursor={first['next_cursor']}", headers=BEARER).json
    assert [(e["action"], e["status"]) for e in rest["entries"]] == [
        ("dlq.replay", 404),
        ("dlq.replay", 202),
    ]
    oldest = rest["entries"][-1]
    assert (oldest["source"], oldest["role"], oldest["request_id"]) == (
        "api",
        "admin",
        "req-audit-1",
    )
    assert rest["next_cursor"] is None
    logged = [r for r in caplog.records if r.name == "service.audit"]
    assert len(logged) == 4 and logged[0].audit["target"] == str(ids[0])
    assert client.get("/v1/admin/audit").status_code == 401  # no token, no trail
    assert client.get("/v1/admin/audit?limit=0", headers=BEARER).status_code == 400


def test_audit_lines_are_one_json_object_in_production(make_app, capfd):
    app = make_app(
        **TOKENS, APP_ENV="production", EMAIL_BACKEND="smtp", SMTP_URL="smtp://127.0.0.1:1"
    )
    client = app.test_client()
    client.post("/v1/admin/circuits/email/reset", headers=BEARER)
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if "audit" in line]
    assert lines and lines[-1]["audit"]["action"] == "circuits.reset"
    assert ADMIN_TOKEN not in json.dumps(lines)


def test_an_admin_write_without_a_mark_is_recorded_under_its_endpoint(make_app):
    from flask import jsonify

    from service.admin import admin_blueprint

    app = make_app(**TOKENS)
    extra = admin_blueprint("extra_admin", __name__)
    extra.add_url_rule(
        "/extra/<name>", "poke", lambda name: (jsonify(ok=True), 202), methods=["DELETE"]
    )
    app.register_blueprint(extra)
    client = app.test_client()
    assert client.delete("/v1/admin/extra/x", headers=BEARER).status_code == 202
    assert client.delete("/v1/admin/extra/x").status_code == 401  # no actor: not an action
    assert [(e.action, e.target, e.status) for e in _audit(app)] == [("extra_admin.poke", "x", 202)]


def test_suppression_removal_is_audited_without_the_address_in_the_log(make_app, caplog):
    from service.email import suppression

    app = make_app(**TOKENS)
    with app.app_context():
        suppression.suppress("ada@example.com", "hard_bounce")
        db.session.commit()
    client = app.test_client()
    assert (
        client.delete("/v1/admin/suppressions/ada@example.com", headers=BEARER).status_code == 200
    )
    entries = [(e.action, e.target, e.status) for e in _audit(app)]
    assert entries == [("suppressions.remove", "ada@example.com", 200)]
    logged = [r for r in caplog.records if r.name == "service.audit"]
    assert logged and all("ada@example.com" not in r.getMessage() for r in logged)
    assert "target" not in logged[0].audit


def _suppress(*entries: tuple[str, str]) -> None:
    from service.email import suppression

    for address, reason in entries:
        suppression.suppress(address, reason, detail="550 5.1.1 no such user")
    db.session.commit()


def _remove(client, address: str):
    page = "/console/suppressions"
    return post_form(client, f"{page}/remove", {"address": address}, page=page)


def test_suppressions_page_filters_pages_and_removes_on_record(make_app, caplog):
    from service.email import suppression

    app = make_app(**TOKENS)
    with app.app_context():
        _suppress(
            ("ada@example.com", "hard_bounce"),
            ("ada.l@example.org", "unsubscribe"),
            ("grace@example.com", "spam_report"),
        )
    client = app.test_client()
    sign_in(client, ADMIN_TOKEN)
    html = client.get("/console/suppressions").text
    for address in ("ada@example.com", "ada.l@example.org", "grace@example.com"):
        assert address in html
    assert "550 5.1.1 no such user" in html
    only_ada = client.get("/console/suppressions?address=ADA").text
    assert "ada@example.com" in only_ada and "grace@example.com" not in only_ada
    by_reason = client.get("/console/suppressions?reason=spam_report").text
    assert "grace@example.com" in by_reason and "ada@example.com" not in by_reason
    first = client.get("/console/suppressions?limit=25").text
    assert 'id="next-page"' not in first
    # Keyset paging: the cursor is the last address shown.
    with app.app_context():
        rows, cursor = suppression.page(2)
        assert [r.address for r in rows] == ["ada.l@example.org", "ada@example.com"]
    rest = client.get(f"/console/suppressions?cursor={cursor}").text
    assert "grace@example.com" in rest and "ada@example.com" not in rest

    done = _remove(client, "Ada@Example.com")
    assert done.status_code == 303
    after = client.get(done.headers["Location"]).text
    assert "ada@example.com removed from the suppression list" in unescape(after)
    with app.app_context():
        assert not suppression.is_suppressed("ada@example.com")
        assert suppression.is_suppressed("grace@example.com")
    again = _remove(client, "ada@example.com")
    assert "That address is not suppressed." in unescape(client.get(again.headers["Location"]).text)
    assert _remove(client, "  ").status_code == 400  # a form without an address
    with app.app_context():
        assert suppression.is_suppressed("grace@example.com")
    removals = [e for e in _audit(app) if e.action == "suppressions.remove"]
    assert [(e.target, e.status, e.source, e.role) for e in removals] == [
        ("Ada@Example.com", 200, "console", "admin"),
        ("ada@example.com", 404, "console", "admin"),
    ]
    audit_lines = [r.getMessage() for r in caplog.records if r.name == "service.audit"]
    assert any("suppressions.remove [customer data]" in line for line in audit_lines)
    assert not any("ada@" in line.lower() for line in audit_lines)


def test_read_only_session_sees_suppressions_without_remove_buttons(make_app):
    from service.email import suppression

    app = make_app(**TOKENS)
    with app.app_context():
        _suppress(("ada@example.com", "hard_bounce"))
    client = app.test_client()
    sign_in(client, READONLY_TOKEN)
    html = client.get("/console/suppressions").text
    assert "ada@example.com" in html and "Remove</button>" not in html
    denied = _remove(client, "ada@example.com")
    assert denied.status_code == 403
    with app.app_context():
        assert suppression.is_suppressed("ada@example.com")
