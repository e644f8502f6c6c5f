"""Benchmark: every console page with 100,000 dead letters, on PostgreSQL.

A fresh PostgreSQL database (BENCH_DATABASE_URL's server, default the local
one the tests use) is migrated by the Procfile's release step and filled with
100,000 dead letters (pending and dead, five templates, four kinds of error,
a month of ages), as many delivered messages, 20,000 stored webhook events
and 10,000 audit entries. The real web tier (the Procfile's Gunicorn line)
serves it; a signed-in session fetches each page, filters and deep pages
included, and the target is every page under 300 ms (90th percentile).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import requests

from . import stats
from .results import Outcome, Row
from .server import ROOT, Server, base_env, procfile_argv

DEFAULT_ADMIN_URL = "postgresql://root@127.0.0.1:5432/test"
ADMIN_TOKEN = "bench-console-admin-token-5d0c9a7e3b1f4a28"  # noqa: S105
METRICS_TOKEN = "bench-console-metrics-token-8e2b6d4f0a9c1e37"  # noqa: S105
DEAD_LETTERS = 100_000
TARGET_MS = 300.0
SAMPLES = 15
TEMPLATES = ("receipt", "payment_failed", "subscription_canceled", "trial_ending", "refund_issued")
CONTEXT = '{"customer_name": "Ada", "amount_paid": 4900, "currency": "usd"}'
SEED = [
    # Dead letters: 1 in 3 pending, the rest dead; errors of four kinds.
    """
    INSERT INTO email_message (idempotency_key, template, recipient, context, status, attempts,
        next_attempt_at, last_error, created_at, updated_at)
    SELECT 'dlq_' || g, (%(templates)s::text[])[1 + g %% 5],
        'customer' || (g %% 5000) || '@example.com', %(context)s::json,
        CASE WHEN g %% 3 = 0 THEN 'pending' ELSE 'dead' END, 8, now() + interval '1 hour',
        (ARRAY['SMTPDataError: (451, b''4.3.0 Mailbox busy'')', 'TimeoutError: timed out',
               'SMTPServerDisconnected: Connection unexpectedly closed',
               'ConnectionRefusedError: [Errno 111] Connection refused'])[1 + g %% 4],
        now() - g * interval '25 seconds', now() - g * interval '20 seconds'
    FROM generate_series(1, %(n)s) AS g
    """,
    # As many delivered messages: the table the filters run on holds both.
    """
    INSERT INTO email_message (idempotency_key, template, recipient, context, status, attempts,
        created_at, updated_at, delivered_at)
    SELECT 'ok_' || g, (%(templates)s::text[])[1 + g %% 5],
        'customer' || (g %% 5000) || '@example.com', %(context)s::json, 'delivered', 1,
        now() - g * interval '25 seconds', now() - g * interval '25 seconds',
        now() - g * interval '25 seconds'
    FROM generate_series(1, %(n)s) AS g
    """,
    """
    INSERT INTO email_attempt (message_id, number, outcome, started_at, duration_ms, backend, error)
    SELECT m.id, n, CASE WHEN n = 8 THEN 'dead' ELSE 'failed' END,
        m.created_at + n * interval '1 minute', 12.5, 'smtp', m.last_error
    FROM (SELECT id, created_at, last_error FROM email_message
          WHERE status = 'dead' LIMIT 2000) AS m,
        generate_series(1, 8) AS n
    """,
    """
    INSERT INTO webhook_event (id, type, created, livemode, api_version, payload, content_hash,
        status, error, attempts, received_at, updated_at)
    SELECT 'evt_bench_' || g, 'invoice.paid', now() - g * interval '1 minute', false, '2024-06-20',
        json_build_object('id', 'evt_bench_' || g, 'object', 'event', 'type', 'invoice.paid',
            'data', json_build_object('object', json_build_object('id', 'in_' || g,
                'payment_method_details', json_build_object('card',
                    json_build_object('last4', '4242', 'brand', 'visa'))))),
        md5(g::text) || md5(g::text), CASE WHEN g %% 100 = 0 THEN 'failed' ELSE 'processed' END,
        CASE WHEN g %% 100 = 0 THEN 'RuntimeError: boom' END, 1,
        now() - g * interval '1 minute', now() - g * interval '1 minute'
    FROM generate_series(1, 20000) AS g
    """,
    """
    INSERT INTO audit_entry (at, action, target, source, role, status, request_id, client_addr)
    SELECT now() - g * interval '1 minute', 'dlq.replay', g::text, 'api', 'admin', 202,
        md5(g::text), '127.0.0.1'
    FROM generate_series(1, 10000) AS g
    """,
    # What autovacuum does after a bulk insert: statistics and the visibility map.
    "VACUUM ANALYZE",
]


def _database(admin_url: str) -> tuple[str, str]:
    name = f"bench_console_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"{admin_url.rpartition('/')[0]}/{name}"


def _drop(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate_and_seed(workdir: Path, url: str) -> float:
    env = base_env(workdir, DATABASE_URL=url)
    done = subprocess.run(
        procfile_argv("release"), cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    if done.returncode != 0:
        raise RuntimeError(f"release step failed:\n{done.stderr[-3000:]}")
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        params = {"n": DEAD_LETTERS, "templates": list(TEMPLATES), "context": CONTEXT}
        for statement in SEED:
            conn.execute(statement, params)  # type: ignore[arg-type]  # constant SQL, above
    return time.monotonic() - started


def _signed_in(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/console/sign-in", timeout=30)
    _plain_http(session)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if found is None:
        raise RuntimeError("no CSRF token on the sign-in page")
    token = found.group(1)
    answer = session.post(
        f"{base}/console/sign-in",
        data={"csrf_token": token, "token": ADMIN_TOKEN},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in answered {answer.status_code}")
    signed = requests.Session()
    signed.headers["Cookie"] = f"console_session={answer.cookies['console_session']}"
    return signed


def _plain_http(session: requests.Session) -> None:
    # The production cookie is Secure; this loopback server speaks plain HTTP
    # (browsers treat 127.0.0.1 as secure, requests does not).
    for cookie in session.cookies:
        cookie.secure = False


def _pages(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        oldest = conn.execute(
            "SELECT min(id) FROM email_message WHERE status IN ('pending', 'dead')"
        ).fetchone()
        detail = conn.execute("SELECT min(message_id) FROM email_attempt").fetchone()
    if oldest is None or detail is None:
        raise RuntimeError("the seed left no dead letter or attempt")
    oldest, detail = oldest[0], detail[0]
    from service.email.dlq import KEY
    from service.email.models import EmailMessage
    from service.paging import encode_cursor

    last_page = encode_cursor(EmailMessage(id=oldest + 30), KEY)
    return {
        "overview": "/console/",
        "dead letters, first page (50)": "/console/dead-letters",
        "dead letters, 200 a page": "/console/dead-letters?limit=200",
        "dead letters, last page": f"/console/dead-letters?cursor={last_page}",
        "filter status + template": "/console/dead-letters?status=dead&template=receipt",
        "filter recipient": "/console/dead-letters?recipient=customer42%40example.com",
        "filter error text (rare)": "/console/dead-letters?error=no+such+text",
        "filter age": "/console/dead-letters?status=pending&older_than=20d",
        "message detail": f"/console/dead-letters/{detail}",
        "bulk replay confirmation": "/console/dead-letters/replay?status=dead",
        "webhook events, failed": "/console/webhook-events?status=failed",
        "webhook event detail": "/console/webhook-events/evt_bench_100",
        "jobs": "/console/jobs",
        "circuits": "/console/circuits",
        "audit": "/console/audit",
    }


def _measure(session: requests.Session, base: str, path: str) -> list[float]:
    timings = []
    for i in range(SAMPLES + 2):
        started = time.perf_counter()
        answer = session.get(f"{base}{path}", timeout=30, allow_redirects=False)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200 or 'id="sign-out"' not in answer.text:
            raise RuntimeError(f"{path} answered {answer.status_code}")
        if i >= 2:  # two warm-ups: each Gunicorn worker's first query plans
            timings.append(elapsed)
    return sorted(timings)


def run(workdir: Path, admin_url: str | None = None) -> Outcome:
    admin_url = admin_url or os.environ.get("BENCH_DATABASE_URL") or DEFAULT_ADMIN_URL
    try:
        name, url = _database(admin_url)
    except psycopg.OperationalError as exc:
        # The target is about PostgreSQL; without one there is nothing to measure.
        row = Row("console", "every console page", "—", "not run", None, "p90 < 300 ms", None)
        return Outcome([row], [f"- No PostgreSQL at BENCH_DATABASE_URL: {type(exc).__name__}."])
    try:
        seconds = _migrate_and_seed(workdir, url)
        env = {"DATABASE_URL": url, "ADMIN_TOKEN": ADMIN_TOKEN, "METRICS_TOKEN": METRICS_TOKEN}
        server = Server("console", "wsgi:app", workdir, 2, **env)
        try:
            server.wait_ready()
            session = _signed_in(server.base)
            results = {
                label: _measure(session, server.base, path) for label, path in _pages(url).items()
            }
        finally:
            server.stop()
    finally:
        _drop(admin_url, name)
    return summarize(results, seconds)


def summarize(results: dict[str, list[float]], seed_seconds: float) -> Outcome:
    outcome = Outcome()
    for label, timings in results.items():
        p50, p90 = stats.median(timings), timings[int(0.9 * (len(timings) - 1))]
        outcome.rows.append(
            Row(
                "10. Console",
                f"{label}, {DEAD_LETTERS:,} dead letters",
                "—",
                f"p50 {p50:.0f} ms, p90 {p90:.0f} ms",
                None,
                f"p90 < {TARGET_MS:.0f} ms",
                p90 < TARGET_MS,
            )
        )
    outcome.details.append(
        f"- Seeded {DEAD_LETTERS:,} dead letters, {DEAD_LETTERS:,} delivered messages, "
        f"20,000 webhook events and 10,000 audit entries in {seed_seconds:.0f} s; "
        f"Gunicorn with 2 workers; {SAMPLES} timed requests a page after 2 warm-ups, "
        "measured at the client over loopback."
    )
    for label, timings in results.items():
        outcome.details.append(f"- {label}: " + ", ".join(f"{t:.0f}" for t in timings) + " ms")
    return outcome


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        outcome = run(Path(tmp))
    for row in outcome.rows:
        print(f"{row.verdict:4} {row.measure:70} {row.candidate}")


if __name__ == "__main__":
    main()
