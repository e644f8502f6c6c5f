"""Benchmark: what fleet-wide webhook counters add to a webhook's cost.

`webhook_events_total` and `webhook_errors_total` live in the database
(service/observability/fleet_counters.py): a delivery adds to an in-memory
buffer, and the process's ticker writes the buffer to its shard row about once
a second. Here, in one process on the run's SQLite database, the real app
takes signed deliveries through its WSGI callable, once all with a bad
signature (the cheapest path, where counting weighs most: a flood of them
must not become a flood of writes) and once all valid (processed):

- baseline: counting switched off (the buffer's `add` does nothing);
- counted: the real `add`, and the flush run inline after every second of
  counted traffic, so its cost is in the timing (under Gunicorn it runs on
  the ticker thread instead);
- control: the baseline again, an A/A pair that shows the noise floor.

Rounds interleave the three in rotating order; the ratio is the median over
rounds of counted / baseline. A second row, for information, prices the
alternative of counting accepted events in the event's own transaction: one
upsert per delivery.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import stats
from .results import Outcome, Row
from .server import base_env

TARGET_RATIO = 1.05
SECRET = "whsec_bench_0f1e2d3c4b5a69788796a5b4c3d2e1f0"  # noqa: S105 (loopback-only bench)


def _app(workdir: Path) -> Any:
    from service import create_app

    env = base_env(workdir)
    keep = ("APP_ENV", "DATABASE_URL", "METRICS_TOKEN", "ADMIN_TOKEN", "EMAIL_BACKEND", "SMTP_URL")
    return create_app(
        {**{k: env[k] for k in keep}, "STRIPE_WEBHOOK_SECRET": SECRET, "LOG_LEVEL": "ERROR"}
    )


def _delivery(valid: bool) -> tuple[bytes, str]:
    import stripe

    event = {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "type": "customer.created",
        "livemode": False,
        "data": {"object": {"id": f"cus_{uuid.uuid4().hex[:14]}", "object": "customer"}},
    }
    text = json.dumps(event)
    secret = SECRET if valid else "whsec_wrong_secret_for_bench_000000000000"
    return text.encode(), stripe.WebhookSignature.generate_signature_header(text, secret)


def _loop(app: Any, deliveries: list[tuple[bytes, str]], flush: Flusher | None) -> float:
    """CPU seconds this process spent on the deliveries (CPU time, not wall time:
    the machine is shared, and other processes' load would swamp a 1% effect)."""
    from werkzeug.test import EnvironBuilder

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        pass

    environs = [
        EnvironBuilder(
            path="/v1/webhooks/stripe",
            method="POST",
            data=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        ).get_environ()
        for body, header in deliveries
    ]
    started = time.process_time()
    for environ in environs:
        before = time.perf_counter()
        body = app.wsgi_app(environ, start_response)
        for _ in body:
            pass
        body.close()
        if flush is not None:
            flush.after(time.perf_counter() - before)
    return time.process_time() - started


class Flusher:
    """Flushes once per second of counted traffic, as the ticker does, but inline."""

    def __init__(self, flush: Callable[[], None]) -> None:
        self.flush, self.since = flush, 0.0

    def after(self, seconds: float) -> None:
        self.since += seconds
        if self.since >= 1.0:
            self.flush()
            self.since = 0.0


def run(workdir: Path, rounds: int, per_round: int) -> Outcome:
    from service.extensions import db
    from service.observability import fleet_counters
    from service.webhooks import metrics

    app = _app(workdir)
    real_add = metrics.COUNTERS.add

    def write() -> None:
        with app.app_context():
            fleet_counters.flush_all("bench")
            db.session.remove()

    flusher = Flusher(write)

    def variant(name: str, valid: bool) -> float:
        deliveries = [_delivery(valid) for _ in range(per_round)]
        counted = name == "counted"
        # The baseline switches counting off; the real method is put back after.
        metrics.COUNTERS.add = real_add if counted else (lambda *a, **k: None)  # type: ignore[method-assign]
        try:
            return _loop(app, deliveries, flusher if counted else None)
        finally:
            metrics.COUNTERS.add = real_add  # type: ignore[method-assign]

    names = ["baseline", "counted", "control"]
    outcome = Outcome()
    for kind, valid in (("bad signature (rejected)", False), ("valid (processed)", True)):
        variant("counted", valid)  # warm-up: imports, first connections, first rows
        timings: dict[str, list[float]] = {n: [] for n in names}
        for i in range(rounds):
            for name in stats.rotation(names, i):
                timings[name].append(variant(name, valid))
        part = summarize(kind, timings, per_round)
        outcome.rows += part.rows
        outcome.details += part.details
    upsert = _same_transaction_upsert_cost(app, per_round)
    outcome.rows.append(
        Row(
            "8. Webhook counters",
            "alternative: one upsert in the event's transaction, per delivery",
            "-",
            f"+{upsert * 1e6:.0f} us",
            None,
            "-",
            None,
        )
    )
    return outcome


def _same_transaction_upsert_cost(app: Any, count: int) -> float:
    """Seconds for one counter upsert inside an open transaction: the price per
    delivery of counting accepted events in the event's own transaction."""
    from service.db import conflict_insert
    from service.extensions import db
    from service.observability.models import CounterShard

    with app.app_context():
        started = time.perf_counter()
        for _ in range(count):
            stmt = conflict_insert(CounterShard).values(
                name="bench_total", labels='{"result":"processed"}', shard="bench", value=1.0
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["name", "labels", "shard"],
                set_={"value": CounterShard.value + stmt.excluded.value},
            )
            db.session.execute(stmt)
        elapsed = time.perf_counter() - started
        db.session.rollback()
        db.session.remove()
    return elapsed / count


def summarize(kind: str, timings: dict[str, list[float]], per_round: int) -> Outcome:
    ratios = stats.pair_ratios(timings["counted"], timings["baseline"])
    control = stats.pair_ratios(timings["control"], timings["baseline"])
    ratio, control_ratio = stats.median(ratios), stats.median(control)
    per = {n: stats.median(t) / per_round * 1e6 for n, t in timings.items()}
    low, high = stats.spread(ratios)
    row = Row(
        "8. Webhook counters",
        f"{kind}: time per delivery, median of {len(ratios)} rounds x {per_round}"
        f" (A/A control {control_ratio:.3f})",
        f"{per['baseline']:.0f} us",
        f"{per['counted']:.0f} us",
        ratio,
        f"<= {TARGET_RATIO:.2f}x",
        ratio <= TARGET_RATIO,
    )
    details = [
        f"{kind}: counted / baseline per round: {', '.join(f'{r:.3f}' for r in ratios)}"
        f" (quartiles {low:.3f}-{high:.3f}); A/A control / baseline:"
        f" {', '.join(f'{r:.3f}' for r in control)}.",
    ]
    return Outcome([row], details)
