"""The demo's report: short, aligned, and saying where to look next."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

from service.config import Settings

WHERE = {
    "console": "EMAIL_BACKEND=console: not sent, so counted `skipped`; also logged by the worker\n"
    "  in the `make run` terminal, one line each (worker.1 | … service.email.console)",
    "smtp": "EMAIL_BACKEND=smtp: sent through SMTP_URL",
    "sendgrid": "EMAIL_BACKEND=sendgrid: sent through SendGrid",
}


@dataclass(frozen=True)
class Answer:
    """The web process's answer to one posted event."""

    event_type: str
    event_id: str
    status: int
    result: str  # `processed`, …, or the error code of a refusal


def answers(items: Sequence[Answer], base: str) -> None:
    print(f"\nStripe events, signed and posted to {base}/v1/webhooks/stripe:")
    width = max(len(a.event_type) for a in items)
    for a in items:
        print(f"  {a.event_type:<{width}}  {a.status} {a.result:<10}  {a.event_id}")


def emails(rows: list[dict[str, Any]], items: Sequence[Answer]) -> None:
    cause = {a.event_id: a.event_type for a in items}
    print(f"\nEmails the worker produced ({len(rows)}):")
    for row in rows:
        tries = row["attempts"]
        status = row["status"] + (f" after {tries} attempts" if tries > 1 else "")
        print(f"  {row['template']:<22} to {row['recipient']}   [{status}]")
        print(f"      subject: {row['subject']}")
        for line in row["body"]:
            print(f"      | {line}")
        print(f"      event:   {cause.get(row['event_id'], row['event_id'])}")
        if row["error"]:
            print(f"      error:   {row['error']}")
    backends = sorted({row["backend"] for row in rows if row["backend"]})
    for backend in backends:
        print(f"  {WHERE.get(backend, backend)}")


def _probe(url: str) -> int | None:
    try:
        return requests.get(url, timeout=3).status_code
    except requests.RequestException:
        return None


def _readiness(base: str) -> str:
    try:
        data = requests.get(f"{base}/readyz", timeout=3).json()
    except (requests.RequestException, ValueError):
        return "no answer"
    return str(data.get("status", "?"))


def next_steps(base: str, settings: Settings) -> None:
    admin = '-H "Authorization: Bearer $ADMIN_TOKEN" ' if settings.admin_token else ""
    metrics = '-H "Authorization: Bearer $METRICS_TOKEN" ' if settings.metrics_token else ""
    print("\nWhere to look next:")
    print(f"  readiness   curl {base}/readyz        (now: {_readiness(base)})")
    print(f"  metrics     curl {metrics}{base}/metrics | grep -E 'webhook_events|email_notif'")
    print(f"  admin API   curl {admin}'{base}/v1/admin/webhook-events?limit=10'")
    print(f"              curl {admin}{base}/v1/admin/jobs/status")
    status = _probe(f"{base}/console/")
    if status is not None and status != 404:
        print(f"  console     {base}/console/")
    print("  real Stripe see README, 'Try it': stripe listen --forward-to …")
