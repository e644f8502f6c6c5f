"""The operator console in a real headless Chromium, against the Procfile's
web line (Gunicorn), a real worker and a real SMTP server (aiosmtpd).

A temporary SMTP refusal produces real dead letters; the operator signs in,
finds them, replays one (it arrives at the SMTP server and the page says
delivered), bulk-replays the rest by filter after a confirmation that states
how many, runs a job, resets a circuit and finds it all in the audit trail.
A read-only session sees no button and its forged POST gets 403; a POST
without the CSRF token is refused; signed out, every page sends you to sign-in.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from service.email import suppression
from service.email.models import EmailMessage
from service.extensions import db
from tests.console.helpers import store_event
from tests.e2e.browser import chromium, full_page, screenshot_dir
from tests.email.helpers import queue, statuses
from tests.email.servers import RecordingHandler, smtp_server
from tests.helpers import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.single_backend]

ADMIN_TOKEN = "browser-admin-token-6c1f0e9a2b7d4c3e8f5a"
READONLY_TOKEN = "browser-readonly-token-3a9d7c1e5b2f8e4d6c0b"
FAST = {
    "ADMIN_TOKEN": ADMIN_TOKEN,
    "ADMIN_READONLY_TOKEN": READONLY_TOKEN,
    "EMAIL_DISPATCH_INTERVAL_SECONDS": "0.3",
    "EMAIL_DLQ_INTERVAL_SECONDS": "0.3",
    "EMAIL_MAX_ATTEMPTS": "1",  # the first refusal makes a dead letter
    "CIRCUIT_FAILURE_THRESHOLD": "50",
    "BUILD_VERSION": "1.4.0",
    "BUILD_COMMIT": "9f3c2ab",
}
ACTIONS = ("Replay", "Reprocess", "Run now", "Reset")
PAGES = (
    "/console/",
    "/console/dead-letters",
    "/console/dead-letters/1",
    "/console/dead-letters/replay?status=dead",
    "/console/webhook-events",
    "/console/suppressions",
    "/console/jobs",
    "/console/circuits",
    "/console/audit",
    "/console/runbook",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    driver = chromium(tmp_path_factory.mktemp("chromium-profile"))
    # A click that submits a form returns before the next page has loaded:
    # lookups wait for the element to appear (the flash, the count...).
    driver.implicitly_wait(10)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return screenshot_dir(tmp_path / "screenshots")


def sign_in(driver, base: str, token: str) -> None:
    driver.get(f"{base}/console/")
    assert "/console/sign-in" in driver.current_url
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "sign-in").click()
    wait_until(lambda: "/console/sign-in" not in driver.current_url, 10, message="signed in")


def text(driver, element_id: str) -> str:
    """The element's text; read again if the page was replaced under it."""
    for _ in range(50):
        try:
            return driver.find_element(By.ID, element_id).text
        except StaleElementReferenceException:
            time.sleep(0.1)
    raise AssertionError(f"#{element_id} kept going stale")


def flash(driver) -> str:
    return " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, ".flash"))


def session_cookie(driver) -> str:
    return f"console_session={driver.get_cookie('console_session')['value']}"


def dead_letters(app, expected: int) -> list[int]:
    def all_dead() -> list[int] | None:
        with app.app_context():
            found = statuses()
            db.session.remove()
        dead = [i for i, s in found.items() if s == "dead"]
        return sorted(dead) if len(dead) == expected else None

    return wait_until(all_dead, 40, interval=0.2, message=f"{expected} dead letters")


def test_operator_fixes_an_smtp_outage_from_the_console(
    browser, start_web, start_worker, make_app, shots
):
    handler = RecordingHandler()
    handler.data_reply = "451 4.3.0 Mailbox busy, try again later"
    with smtp_server(handler=handler) as (_, smtp_port):
        env = {**FAST, "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}?timeout=5"}
        _, base = start_web(workers=2, **env)
        app = make_app()
        with app.app_context():
            [receipt] = queue(1, template="receipt", prefix="in_1001")
            failed = queue(3, template="payment_failed", recipient="bo@example.com", prefix="in")
        start_worker(**env)

        browser.get(f"{base}/console/sign-in")
        full_page(browser, shots / "sign-in.png")
        sign_in(browser, base, ADMIN_TOKEN)
        assert dead_letters(app, 4) == sorted([receipt, *failed])

        browser.get(f"{base}/console/")
        assert text(browser, "dlq-dead") == "4"
        assert "9f3c2ab" in browser.page_source
        full_page(browser, shots / "overview.png")

        browser.get(f"{base}/console/dead-letters")
        rows = browser.find_elements(By.CSS_SELECTOR, "#dead-letters tbody tr")
        assert len(rows) == 4 and all("451" in row.text for row in rows)
        full_page(browser, shots / "dead-letters.png")

        # One message: its attempts, the SMTP error, the email; then Replay.
        browser.find_element(By.LINK_TEXT, f"#{receipt}").click()
        assert "Mailbox busy" in text(browser, "last-error")
        frame = browser.find_element(By.ID, "email-html")
        assert frame.get_attribute("sandbox") == ""
        assert "Ada" in text(browser, "email-text")
        full_page(browser, shots / "dead-letter.png")
        handler.data_reply = None  # the mail server is back
        browser.find_element(By.ID, "replay").click()
        assert "back in the send queue" in flash(browser)

        def delivered() -> bool:
            browser.refresh()
            return text(browser, "message-status") == "delivered"

        wait_until(delivered, 30, interval=0.5, message="the page to say delivered")
        assert [m["To"] for m in handler.messages] == ["ada@example.com"]

        # Everything else matching a filter, after a confirmation stating how many.
        browser.get(f"{base}/console/dead-letters")
        Select(browser.find_element(By.ID, "filter-template")).select_by_value("payment_failed")
        browser.find_element(By.ID, "apply-filter").click()
        wait_until(lambda: text(browser, "matching") == "3", 10, message="3 matching")
        browser.find_element(By.ID, "replay-matching").click()
        assert text(browser, "confirm-count") == "3"
        full_page(browser, shots / "bulk-replay-confirm.png")
        browser.find_element(By.ID, "confirm-replay").click()
        assert "Replayed 3 messages" in flash(browser)
        wait_until(lambda: len(handler.messages) == 4, 30, message="3 more at the SMTP server")
        assert sorted(m["To"] for m in handler.messages[1:]) == ["bo@example.com"] * 3
        with app.app_context():
            wait_until(lambda: set(statuses().values()) == {"delivered"}, 10, message="all sent")
            card = {"brand": "visa", "last4": "4242", "exp_month": 4, "exp_year": 2031}
            for status in ("processed", "ignored", "processed"):
                store_event(status)
            event_id = store_event("failed", payment_method_details={"card": card})

        browser.get(f"{base}/console/webhook-events")
        full_page(browser, shots / "webhook-events.png")
        browser.find_element(By.LINK_TEXT, event_id).click()
        payload = text(browser, "payload")
        card = json.loads(payload)["data"]["object"]["payment_method_details"]["card"]
        assert card == {"brand": "visa", "last4": "••••", "exp_month": "••••", "exp_year": "••••"}
        full_page(browser, shots / "webhook-event.png")

        browser.get(f"{base}/console/jobs")
        browser.find_element(By.ID, "run-email-dlq").click()
        assert "run email-dlq now" in flash(browser)
        full_page(browser, shots / "jobs.png")
        browser.get(f"{base}/console/circuits")
        browser.find_element(By.ID, "reset-email").click()
        assert "forced closed" in flash(browser)
        full_page(browser, shots / "circuits.png")
        # A customer who fixed their mailbox: off the suppression list.
        with app.app_context():
            suppression.suppress("bounced@example.com", "hard_bounce", "550 5.1.1 no such user")
            suppression.suppress("spam@example.org", "spam_report")
            db.session.commit()
        browser.get(f"{base}/console/suppressions")
        assert "550 5.1.1 no such user" in text(browser, "suppressions")
        full_page(browser, shots / "suppressions.png")
        browser.find_element(By.ID, "remove-1").click()
        assert "bounced@example.com removed from the suppression list" in flash(browser)
        rows = browser.find_elements(By.CSS_SELECTOR, "#suppressions tbody tr[data-address]")
        assert [r.get_attribute("data-address") for r in rows] == ["spam@example.org"]
        browser.get(f"{base}/console/audit")
        audit = text(browser, "audit")
        actions = ("dlq.replay ", "dlq.replay_matching", "jobs.run", "circuits.reset")
        for action in (*actions, "suppressions.remove"):
            assert action in audit, action
        full_page(browser, shots / "audit.png")

        # A POST without the CSRF token, with a valid admin session: refused.
        forged = requests.post(
            f"{base}/console/circuits/email/reset",
            headers={"Cookie": session_cookie(browser)},
            allow_redirects=False,
            timeout=10,
        )
        assert forged.status_code == 400

        # A link from another site (a pager, a chat): the page opens, signed in.
        link = f"<a id='go' href='{base}/console/jobs'>jobs</a>"
        browser.get(f"data:text/html,{link}")
        browser.find_element(By.ID, "go").click()
        wait_until(lambda: browser.find_elements(By.ID, "jobs"), 10, message="the jobs page")

        browser.find_element(By.ID, "sign-out").click()
        for page in PAGES:
            browser.get(f"{base}{page}")
            assert "/console/sign-in" in browser.current_url, page


def test_read_only_session_has_no_buttons_and_cannot_post(browser, start_web, make_app, shots):
    _, base = start_web(workers=2, **FAST)
    app = make_app()
    with app.app_context():
        [message_id] = queue(1)
        error = "SMTPDataError: (451, b'4.3.0 Mailbox busy, try again later')"
        db.session.execute(db.update(EmailMessage).values(status="dead", last_error=error))
        db.session.commit()
    browser.delete_all_cookies()
    sign_in(browser, base, READONLY_TOKEN)
    for page in (*PAGES[:2], f"/console/dead-letters/{message_id}", *PAGES[3:]):
        browser.get(f"{base}{page}")
        forms = browser.find_elements(By.CSS_SELECTOR, "form[method=post]")
        assert [f.get_attribute("action") for f in forms] == [f"{base}/console/sign-out"], page
        labels = [b.text for b in browser.find_elements(By.CSS_SELECTOR, "button, a.button")]
        assert not [label for label in labels if label.startswith(ACTIONS)], (page, labels)
    browser.get(f"{base}/console/dead-letters/{message_id}")
    full_page(browser, shots / "read-only.png")

    # Forged: a valid session and a valid CSRF token, but a read-only role.
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.page_source).group(1)
    forged = requests.post(
        f"{base}/console/dead-letters/{message_id}/replay",
        data={"csrf_token": token},
        headers={"Cookie": session_cookie(browser)},
        allow_redirects=False,
        timeout=10,
    )
    assert forged.status_code == 403
    with app.app_context():
        assert db.session.get(EmailMessage, message_id).status == "dead"
    browser.find_element(By.ID, "sign-out").click()
