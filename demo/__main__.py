"""`make demo`: a Stripe event in, a customer email out, with the real processes.

Run it in a second terminal while `make run` is up. It signs one event of
each handled type with the development secret (the Stripe library's own
signing), posts them to the running web process, waits for the worker to
send the emails they caused, and prints what happened and where to look
next. Exit status 0 when every step worked, 1 otherwise, with a line saying
what to do.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import requests
from sqlalchemy.exc import SQLAlchemyError

from service.config import ConfigError, Settings, load_settings
from service.webhooks.handlers import HANDLERS

from . import devenv, events, outbox, report
from .report import Answer

WEBHOOK_PATH = "/v1/webhooks/stripe"
FINISHED = ("delivered", "skipped", "dead")  # what the worker leaves behind


class DemoFailed(Exception):
    """A step failed; the message says what to do about it."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--base-url", help="the web process (default http://127.0.0.1:$PORT)")
    parser.add_argument(
        "--wait", type=float, help="seconds to wait for the worker (default: 6 dispatch ticks)"
    )
    return parser.parse_args(argv)


def settings_or_fail() -> Settings:
    """The settings `make run` started with, read from the same environment."""
    if (os.environ.get("APP_ENV") or "").strip().lower() == "production":
        raise DemoFailed("APP_ENV=production: the demo posts made-up events; use development.")
    try:
        return load_settings()
    except ConfigError as exc:
        raise DemoFailed(f"the configuration is invalid: {exc}") from None


def secret_or_fail() -> str:
    secret = devenv.webhook_secret(os.environ)
    if secret is None:
        raise DemoFailed(
            "no webhook secret: start `make run` first (it creates var/dev-webhook-secret), "
            "or set the same STRIPE_WEBHOOK_SECRET in both terminals."
        )
    return secret


def check_up(base: str) -> None:
    try:
        requests.get(f"{base}/healthz", timeout=3).raise_for_status()
    except requests.RequestException as exc:
        raise DemoFailed(
            f"nothing answers at {base} ({type(exc).__name__}): start `make run` in another "
            "terminal (with the same PORT) and try again."
        ) from None


def post(base: str, event: dict, secret: str) -> Answer:
    payload, headers = events.signed(event, secret)
    response = requests.post(f"{base}{WEBHOOK_PATH}", data=payload, headers=headers, timeout=10)
    try:
        data = response.json()
    except ValueError:
        data = {}
    result = data.get("result") or (data.get("error") or {}).get("code") or "no answer"
    return Answer(event["type"], event["id"], response.status_code, result)


def refusal_hint(answers: list[Answer]) -> str:
    codes = {a.result for a in answers if a.result != "processed"}
    if "invalid_signature" in codes:
        return (
            "the service was started with another webhook secret: restart `make run`, or set "
            "the same STRIPE_WEBHOOK_SECRET in both terminals."
        )
    if "server_misconfigured" in codes:
        return "the service has no webhook secret: restart it with `make run`."
    return "see the `make run` terminal for the web process's log lines about these events."


def read_outbox(settings: Settings, event_ids: list[str]) -> list[dict]:
    try:
        return outbox.messages(settings.database_url, event_ids)
    except SQLAlchemyError as exc:
        raise DemoFailed(
            f"cannot read the outbox ({type(exc).__name__}): give this terminal the same "
            "DATABASE_URL as `make run`'s."
        ) from None


def wait_for_worker(settings: Settings, event_ids: list[str], seconds: float) -> list[dict]:
    deadline = time.monotonic() + seconds
    while True:
        rows = read_outbox(settings, event_ids)
        if rows and all(row["status"] in FINISHED for row in rows):
            return rows
        if time.monotonic() >= deadline:
            return rows
        time.sleep(0.5)


def run(args: argparse.Namespace) -> int:
    settings = settings_or_fail()
    base = (args.base_url or f"http://127.0.0.1:{settings.port}").rstrip("/")
    secret = secret_or_fail()
    check_up(base)
    story = events.story()
    missing = set(HANDLERS) - {e["type"] for e in story}
    if missing:
        raise DemoFailed(f"demo/events.py has no event for {', '.join(sorted(missing))}.")

    answers = [post(base, event, secret) for event in story]
    report.answers(answers, base)
    if any(a.result != "processed" for a in answers):
        raise DemoFailed(refusal_hint(answers))

    wait = args.wait or max(30.0, 6 * settings.email_dispatch_interval_seconds)
    rows = wait_for_worker(settings, [a.event_id for a in answers], wait)
    report.emails(rows, answers)
    report.next_steps(base, settings)
    return check_emails(rows, wait)


def check_emails(rows: list[dict], waited: float) -> int:
    if not rows:
        raise DemoFailed(
            "no email for these events in this terminal's database: give it the same "
            "DATABASE_URL as `make run`'s, or see the web process's log lines in that terminal."
        )
    waiting = [r for r in rows if r["status"] not in FINISHED]
    if any(r["status"] == "queued" for r in waiting):
        raise DemoFailed(
            f"the worker did not send the emails within {waited:.0f} s: is the `worker` process "
            "of `make run` up? (`/readyz` shows its heartbeat)"
        )
    if waiting or any(r["status"] == "dead" for r in rows):
        raise DemoFailed(
            "some emails could not be sent: the error is above; the dead-letter queue is at "
            "/v1/admin/export-dead-letter."
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except DemoFailed as exc:
        print(f"\nmake demo failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
