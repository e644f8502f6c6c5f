"""The webhook keeps its own 256 KiB limit under the app-wide 1 MiB one."""

from __future__ import annotations

from .helpers import delta, post, scrape


def test_a_body_past_the_app_wide_limit_is_still_a_counted_rejection(wh):
    before = scrape(wh)
    response = post(wh, b"{" + b" " * (2 * 1024 * 1024) + b"}", "t=1,v1=00")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert delta(before, scrape(wh)) == {"result:rejected": 1}


def test_a_chunked_body_past_the_limit_is_refused(wh):
    before = scrape(wh)
    response = wh.post(
        "/v1/webhooks/stripe",
        data=b"{" + b" " * (300 * 1024) + b"}",
        headers={"Stripe-Signature": "t=1,v1=00", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert delta(before, scrape(wh)) == {"result:rejected": 1}
