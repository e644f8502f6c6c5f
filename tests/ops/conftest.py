"""`service_names`: what a real app exposes after being exercised, for the name checks.

Everything here comes from the running code: a scrape of /metrics after
real requests and real job runs, the JSON that /readyz and the admin API
answer, the URL map, the CLI and the worker's schedule.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import free_port

PROD = {"APP_ENV": "production", "EMAIL_BACKEND": "smtp", "SMTP_URL": "smtp://127.0.0.1:2525"}


@dataclass
class ServiceNames:
    metrics: set[str] = field(default_factory=set)
    metric_labels: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    label_values: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    json_keys: set[str] = field(default_factory=set)
    json_values: set[str] = field(default_factory=set)
    documents: list[Any] = field(default_factory=list)
    routes: list[tuple[str, set[str]]] = field(default_factory=list)
    cli: dict[str, set[str]] = field(default_factory=dict)
    jobs: set[str] = field(default_factory=set)

    def add_document(self, doc: Any) -> None:
        self.documents.append(doc)
        if isinstance(doc, dict):
            for key, value in doc.items():
                self.json_keys.add(key)
                self.add_document(value)
        elif isinstance(doc, list):
            for item in doc:
                self.add_document(item)
        elif isinstance(doc, str):
            self.json_values.add(doc)

    def add_scrape(self, text: str) -> None:
        # Label names come from the samples of the scrape itself: _exercise
        # gives every label-bearing family at least one sample.
        for family in text_string_to_metric_families(text):
            names = {
                "counter": [f"{family.name}_total"],
                "histogram": [
                    family.name,
                    *(family.name + s for s in ("_bucket", "_count", "_sum")),
                ],
            }.get(family.type, [family.name])
            self.metrics.update(names)
            for sample in family.samples:
                for label, value in sample.labels.items():
                    self.label_values[label].add(value)
                    for name in names:
                        if label != "le" or name.endswith("_bucket"):
                            self.metric_labels[name].add(label)


def _exercise(app: Flask, make_app) -> list[Any]:
    """Real requests and job runs so label-bearing families have samples."""
    from jobs.cli import run_once
    from jobs.leader import Leadership
    from jobs.schedule import SCHEDULE
    from service.circuits import breaker
    from service.jobstate import recorder

    client = app.test_client()
    documents = [client.get("/readyz").get_json()]  # degraded: no heartbeat yet
    assert documents[0]["status"] == "degraded"
    assert client.get("/no/such/page").status_code == 404  # the <unmatched> path
    dead = make_app(DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    failed = dead.test_client().get("/readyz")  # a real 5xx
    assert failed.status_code == 503
    documents.append(failed.get_json())
    for config in (PROD, {"METRICS_TOKEN": "a-metrics-token-0123456789abcdef0123"}):
        refused = make_app(**config).test_client().get("/metrics")
        assert refused.status_code in (401, 500)
        documents.append(refused.get_json())
    for spec in SCHEDULE:  # as `python jobs_main.py run NAME` does, with no worker
        output: list[str] = []
        assert run_once(app, spec.id, echo=output.append) == 0, output
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ok", ready
    documents.append(ready)
    with app.app_context():
        ctx = recorder.RunContext(SCHEDULE[-1].id, "ops-test", None, "cli", 60.0)
        run = recorder.started(ctx)
        recorder.failed(ctx, run.id, 0.01, RuntimeError("a real failure"))
        leadership = Leadership(30.0)
        assert leadership.refresh()
        documents.append(client.get("/v1/admin/jobs/status").get_json())
        leadership.release()
        documents.append(breaker.describe(breaker.get(breaker.CIRCUITS[0])))
    _send_mail_with_every_outcome(app, make_app)
    _provider_events_and_skips(app, make_app)
    documents.append(_webhook_access_line(make_app))
    return documents


def _webhook_access_line(make_app) -> dict[str, Any]:
    """A real delivery's access-log line as production writes it (JSON): its
    fields are names operators search the logs by."""
    import datetime
    import io
    import json
    import logging
    from types import SimpleNamespace

    from gunicorn.config import Config
    from werkzeug.test import EnvironBuilder

    from service.observability.gunicorn_logger import AccessLogger
    from service.observability.logging import JsonLogFormatter
    from tests.webhooks import stripe_events as se

    app = make_app(STRIPE_WEBHOOK_SECRET=se.SECRET)
    payload = se.body(se.event("invoice.paid", se.invoice("cus_Ops1")))
    headers = {"Stripe-Signature": se.sign(payload), "Content-Type": "application/json"}
    # The app itself, not the test client: the access logger reads what the
    # view left in this very environ (the test client passes a copy).
    environ = EnvironBuilder("/v1/webhooks/stripe", method="POST", data=payload, headers=headers)
    environ = environ.get_environ()
    answered: dict[str, Any] = {}
    body = b"".join(
        app(environ, lambda status, headers, exc=None: answered.update(s=status, h=headers))
    )
    assert answered["s"].startswith("200"), body
    response = SimpleNamespace(status=answered["s"], sent=len(body), headers=answered["h"])
    config = Config()
    config.set("accesslog", "-")
    logger = AccessLogger(config)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonLogFormatter())
    logger.access_log.handlers = [handler]
    logger.access(response, None, environ, datetime.timedelta(milliseconds=3))
    return json.loads(out.getvalue())


def _send_mail_with_every_outcome(app: Flask, make_app) -> None:
    """Real sends (aiosmtpd on loopback) so email_notifications_total has
    delivered, failed and dead samples; the console backend gives skipped."""
    from service.email.dispatch import dispatch_queued
    from tests.email.helpers import queue
    from tests.email.servers import RecordingHandler, smtp_server

    handler = RecordingHandler()
    with smtp_server(handler=handler) as (_, port):
        smtp_app = make_app(EMAIL_BACKEND="smtp", SMTP_URL=f"smtp://127.0.0.1:{port}")
        for prefix, reply, outcome in (
            ("ok", None, "delivered"),
            ("later", "451 4.3.0 try later", "failed"),
            ("never", "550 5.1.1 no such user", "dead"),
        ):
            handler.rcpt_reply = reply
            with smtp_app.app_context():
                queue(1, prefix=prefix, recipient=f"{prefix}@example.com")
                assert dispatch_queued().get(outcome) == 1
    with app.app_context():
        queue(1, prefix="console")
        assert dispatch_queued().get("skipped") == 1


def _provider_events_and_skips(app: Flask, make_app) -> None:
    """Signed SendGrid events of every kind (email_provider_events_total) and
    mail skipped for each reason (email_skipped_total), through the real paths."""
    from service.email.dispatch import dispatch_queued
    from service.email.outbox import enqueue
    from service.email.provider_events import KNOWN_EVENTS
    from service.extensions import db
    from tests.email.helpers import queue
    from tests.email.sendgrid_events import Signer, event

    signer = Signer()
    hooked = make_app(SENDGRID_WEBHOOK_PUBLIC_KEY=signer.public_key)
    with hooked.app_context():
        queue(1, prefix="complainer", recipient="complainer@example.com")
    events = [event(name, email="complainer@example.com") for name in sorted(KNOWN_EVENTS)]
    events.append(event("martian"))
    assert signer.post(hooked.test_client(), events).status_code == 200
    with app.app_context():  # console backend
        enqueue("stale:trial_ending", "trial_ending", "t@example.com", {"trial_end": 1})
        db.session.commit()
        assert dispatch_queued().get("skipped") == 1


@pytest.fixture
def service_names(make_app) -> ServiceNames:
    from jobs.schedule import SCHEDULE

    app = make_app()
    names = ServiceNames()
    for doc in _exercise(app, make_app):
        names.add_document(doc)
    scrape = app.test_client().get("/metrics")
    assert scrape.status_code == 200
    names.add_scrape(scrape.get_data(as_text=True))
    names.routes = [(rule.rule, set(rule.methods or ())) for rule in app.url_map.iter_rules()]
    names.cli = {
        name: set(getattr(group, "commands", {})) for name, group in app.cli.commands.items()
    }
    names.jobs = {spec.id for spec in SCHEDULE}
    return names
