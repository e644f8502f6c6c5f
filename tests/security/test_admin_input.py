"""Hostile admin input gets a clear 400, never a 500 (on both backends)."""

from __future__ import annotations

import base64
import csv
import io

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.email.dlq import csv_rows
from service.email.models import EmailMessage
from service.extensions import db

from .tokens import ADMIN, bearer

DLQ = "/v1/admin/export-dead-letter"
HUGE = str(2**64)


@pytest.fixture
def admin(make_app):
    return make_app(ADMIN_TOKEN=ADMIN).test_client()


def _get(client, url):
    return client.get(url, headers=bearer(ADMIN))


def _post(client, url, **kw):
    return client.post(url, headers=bearer(ADMIN), **kw)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("body", [b"[1]", b'"x"', b"1", b"null", b"{not json", b"\xff\xfe"])
def test_replay_body_that_is_not_a_json_object(admin, body):
    response = _post(admin, f"{DLQ}/replay", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_body"


@pytest.mark.parametrize(
    "body", [{"status": 1}, {"status": ["dead"]}, {"status": "dead", "template": {"a": 1}}]
)
def test_replay_body_fields_must_be_strings(admin, body):
    response = _post(admin, f"{DLQ}/replay", json=body)
    assert response.status_code == 400


def test_replay_body_with_a_nul_byte(admin):
    response = _post(admin, f"{DLQ}/replay", json={"status": "dead", "template": "a\x00b"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        f"{DLQ}/{HUGE}",
        f"{DLQ}/{2**63}",
        f"{DLQ}/{'9' * 400}",
    ],
)
def test_ids_past_bigint(admin, url):
    response = _get(admin, url)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"
    assert _post(admin, f"{url}/replay").status_code == 400


def test_largest_bigint_id_is_a_plain_miss(admin):
    assert _get(admin, f"{DLQ}/{2**63 - 1}").status_code == 404


@pytest.mark.parametrize(
    "cursor",
    [
        _b64(b"[" * 100_000 + b"]" * 100_000),  # RecursionError in json.loads
        _b64(b"[" * 500 + b"]" * 500),
        _b64(b'["2026-01-01T00:00:00+00:00", 5]'),
        _b64(b'["2026-01-01T00:00:00+00:00", "evt\\u0000"]'),
        _b64(b'[1, "evt"]'),
        "%00",
        "x" * 5000,
    ],
)
def test_webhook_event_cursors(admin, cursor):
    response = _get(admin, f"/v1/admin/webhook-events?cursor={cursor}")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "cursor", [_b64(f"id:{HUGE}".encode()), _b64(b"id:-5"), _b64(b"id:" + b"9" * 5000), "=" * 3]
)
def test_dead_letter_cursors(admin, cursor):
    response = _get(admin, f"{DLQ}?cursor={cursor}")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    "url",
    [
        "/v1/admin/webhook-events/evt%00x",
        "/v1/admin/webhook-events/evt%00x/reprocess",
        "/v1/admin/webhook-events?type=a%00b",
        "/v1/admin/webhook-events?status=failed%00",
        f"{DLQ}?template=r%00",
        f"{DLQ}?status=dead&template=%00",
        "/v1/admin/circuits/em%00ail/reset",
        "/v1/admin/jobs/a%00/run",
    ],
)
def test_nul_bytes_in_ids_and_filters(admin, url):
    method = _post if url.endswith(("reprocess", "reset", "run")) else _get
    response = method(admin, url)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_input"


def _row(**values) -> EmailMessage:
    return EmailMessage(
        id=1,
        idempotency_key="k",
        template="receipt",
        recipient="a@example.com",
        context={},
        status="dead",
        attempts=1,
        **values,
    )


@pytest.mark.parametrize(
    "error", ["=1+1", "  =1+1", "\t=1", "\r@SUM(A1)", " \n-2+3", "+cmd", ";=1+1", "@x"]
)
def test_csv_cells_never_start_a_formula(error):
    text_out = "".join(csv_rows(iter([_row(last_error=error)])))
    lines = text_out.splitlines()
    # QUOTE_ALL: every field, the header too, sits between quotes, so a
    # semicolon-separated import cannot cut a cell that starts with "=".
    assert lines[0].startswith('"id","status"')
    row = next(csv.DictReader(io.StringIO(text_out)))
    cell = row["last_error"]
    assert cell.lstrip(" \t\r\n")[:1] not in ("=", "+", "-", "@") or cell.startswith("'")
    assert cell.startswith("'") or error.startswith(";")
    assert '";=1+1"' in text_out or error != ";=1+1"


def test_database_errors_carry_no_parameters(app):
    secret = "alice.customer@private.example"
    with app.app_context():
        with pytest.raises(DBAPIError) as info:
            db.session.execute(
                text("SELECT no_such_column FROM email_message WHERE recipient = :r"),
                {"r": secret},
            )
        db.session.rollback()
    assert secret not in str(info.value)
    assert "hidden" in str(info.value).lower()
