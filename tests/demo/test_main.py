"""`make demo` fails with a message saying what to do."""

from __future__ import annotations

import pytest

from demo import __main__ as demo_main
from tests.helpers import free_port


def test_nothing_listening_says_to_start_make_run(monkeypatch, capsys):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_demo_test_0123456789abcdef")
    port = free_port()
    assert demo_main.main(["--base-url", f"http://127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err
    assert f"nothing answers at http://127.0.0.1:{port}" in err
    assert "start `make run` in another terminal" in err


def test_production_is_refused_before_anything_is_posted(monkeypatch, capsys):
    monkeypatch.setenv("APP_ENV", "production")
    assert demo_main.main([]) == 1
    assert "APP_ENV=production" in capsys.readouterr().err


def test_a_worker_that_never_sends_is_reported():
    rows = [{"status": "queued"}, {"status": "skipped"}]
    with pytest.raises(demo_main.DemoFailed, match="worker did not send the emails within 30 s"):
        demo_main.check_emails(rows, 30)
    with pytest.raises(demo_main.DemoFailed, match="dead-letter queue"):
        demo_main.check_emails([{"status": "pending"}], 30)
    assert demo_main.check_emails([{"status": "skipped"}, {"status": "delivered"}], 30) == 0
