"""The admin lists share one keyset pager and one limit rule (README, "Admin API lists")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.errors import ApiError
from service.extensions import db
from service.paging import decode_cursor, encode_cursor, keyset_page, parse_limit
from service.timeutil import utcnow
from service.webhooks import listing
from service.webhooks.models import WebhookEvent
from tests.email.helpers import queue

LISTS = {
    "/v1/admin/export-dead-letter": ("messages", 500),
    "/v1/admin/webhook-events": ("events", 200),
}


@pytest.mark.parametrize("path", sorted(LISTS))
def test_one_limit_rule_on_every_list(client, path):
    _, maximum = LISTS[path]
    for bad in ("0", "-1", "abc", "2.5", str(maximum + 1)):
        response = client.get(path, query_string={"limit": bad})
        assert response.status_code == 400, bad
        assert response.get_json()["error"]["code"] == "invalid_limit"
        assert str(maximum) in response.get_json()["error"]["message"]
    for good in ("1", str(maximum)):
        assert client.get(path, query_string={"limit": good}).status_code == 200
    bad_cursor = client.get(path, query_string={"cursor": "bm90LWEtY3Vyc29y"})
    assert bad_cursor.status_code == 400
    assert bad_cursor.get_json()["error"]["code"] == "invalid_cursor"


def test_parse_limit_default_and_bounds():
    assert parse_limit(None, 50, 500) == 50
    assert parse_limit("", 50, 500) == 50
    assert parse_limit(" 7 ", 50, 500) == 7
    with pytest.raises(ApiError) as caught:
        parse_limit(501, 50, 500)
    assert (caught.value.status, caught.value.code) == (400, "invalid_limit")


def _event(event_id: str, received_at) -> WebhookEvent:
    return WebhookEvent(
        id=event_id,
        type="payment_intent.created",
        created=received_at,
        livemode=False,
        payload={},
        content_hash="0" * 64,
        status="ignored",
        received_at=received_at,
        updated_at=received_at,
    )


def test_pages_split_rows_with_equal_timestamps_without_loss_or_repeat(app):
    """Five events in the same microsecond and two older ones, two per page:
    the id breaks the tie, so every row appears exactly once, in key order."""
    same, older = utcnow(), utcnow() - timedelta(minutes=5)
    ids = [f"evt_same_{n}" for n in range(5)] + ["evt_old_a", "evt_old_b"]
    with app.app_context():
        for event_id in ids:
            db.session.add(_event(event_id, older if "old" in event_id else same))
        db.session.commit()
        seen, cursor = [], None
        query = listing._filtered(None, None)
        while True:
            rows, cursor = keyset_page(query, listing.KEY, 2, cursor)
            seen += [row.id for row in rows]
            db.session.rollback()
            if cursor is None:
                break
        expected = [*sorted(ids[:5], reverse=True), "evt_old_b", "evt_old_a"]
        assert seen == expected
        first = db.session.get(WebhookEvent, "evt_same_3")
        values = decode_cursor(encode_cursor(first, listing.KEY), listing.KEY)
        assert values == [same, "evt_same_3"]


def test_dead_letter_pages_cover_every_letter_once(app, client):
    with app.app_context():
        ids = queue(5)
        db.session.execute(db.update(db.metadata.tables["email_message"]).values(status="dead"))
        db.session.commit()
    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        body = client.get("/v1/admin/export-dead-letter", query_string=query).get_json()
        seen += [m["id"] for m in body["messages"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
