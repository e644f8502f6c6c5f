"""Benchmark: email dispatch, queued -> accepted by an SMTP server on loopback.

Real worker processes (the Procfile's `worker` line, production settings)
send to an aiosmtpd sink running in its own process, which notes when each
message arrived; throughput is (messages - 1) / (last arrival - first
arrival) at the sink, for every configuration alike. The database is a fresh
PostgreSQL database when one answers at BENCH_POSTGRES_URL (default
postgresql://root@127.0.0.1:5432/postgres), else the run's SQLite file.

Rows:
- scaling (a sink that takes 50 ms per message, like a real relay): one
  process with EMAIL_CONCURRENCY=4 vs 1 (target >= 3x), three processes vs
  one (target >= 2.5x);
- against the floor (a sink that answers at once): one worker process with
  default settings vs plain smtplib over one connection sending
  pre-rendered messages (target >= 0.50), smtplib run twice as an A/A
  control; and the floor figure: one UPDATE + COMMIT per message alone on
  the same database, the price of "a crash re-sends at most the message in
  flight".
Each comparison runs in rounds (3; 1 with --quick), one pair right after
the other; a row reports the median of the per-round ratios.
"""

from __future__ import annotations

import contextlib
import os
import signal
import smtplib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from .results import Outcome, Row
from .server import ROOT, base_env, free_port, procfile_argv

TITLE = "2. Email dispatch"
SLOW_DELAY = 0.05
# Tokens for these throwaway processes: >= 32 characters, all different.
TOKENS = {
    "METRICS_TOKEN": "bench-email-metrics-token-5d1f0c9a7e3b",
    "ADMIN_TOKEN": "bench-email-admin-token-8a2c4e6f0b1d93",
}
SINK = """
import asyncio, sys, time
from aiosmtpd.controller import Controller
port, delay, path = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
out = open(path, "a", buffering=1)
class Sink:
    async def handle_DATA(self, server, session, envelope):
        if delay:
            await asyncio.sleep(delay)
        out.write(f"{time.monotonic()}\\n")
        return "250 2.0.0 accepted"
controller = Controller(Sink(), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"""


class Sink:
    """aiosmtpd in its own process; arrivals (monotonic seconds) in a file."""

    def __init__(self, workdir: Path, delay: float) -> None:
        self.port = free_port()
        self.path = workdir / f"sink-{self.port}.txt"
        self.path.write_text("")
        self.popen = subprocess.Popen(
            [sys.executable, "-c", SINK, str(self.port), str(delay), str(self.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.popen.stdout is not None
        self.popen.stdout.readline()

    def arrivals(self) -> list[float]:
        return [float(line) for line in self.path.read_text().split()]

    def reset(self) -> None:
        self.path.write_text("")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            assert self.popen.stdin is not None
            self.popen.stdin.close()
            self.popen.wait(10)
        if self.popen.poll() is None:
            self.popen.kill()


def rate(arrivals: list[float]) -> float:
    arrivals = sorted(arrivals)
    if len(arrivals) < 2 or arrivals[-1] <= arrivals[0]:
        return 0.0
    return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])


@contextlib.contextmanager
def database(workdir: Path) -> Iterator[str]:
    """A fresh migrated PostgreSQL database if one answers, else the run's SQLite."""
    admin = os.environ.get("BENCH_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/postgres")
    try:
        import psycopg

        name = f"bench_email_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True, connect_timeout=2) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception:
        sqlite = f"sqlite:///{workdir / 'bench.sqlite3'}"
        env = base_env(sqlite, **TOKENS)
        subprocess.run(procfile_argv("release"), cwd=ROOT, env=env, check=True, timeout=120)
        yield sqlite
        return
    url = f"{admin.rpartition('/')[0]}/{name}"
    try:
        env = base_env(url, **TOKENS)
        subprocess.run(procfile_argv("release"), cwd=ROOT, env=env, check=True, timeout=120)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _app(url: str):  # type: ignore[no-untyped-def]
    from service import create_app

    return create_app({"DATABASE_URL": url, "APP_ENV": "test", "LOG_LEVEL": "WARNING"})


def _reset(app) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import delete

    from service.email.models import EmailAttempt, EmailMessage
    from service.extensions import db
    from service.jobstate.models import JobRun

    with app.app_context():
        for model in (EmailAttempt, EmailMessage, JobRun):
            db.session.execute(delete(model))
        db.session.commit()


def _enqueue(app, count: int, tag: str) -> None:  # type: ignore[no-untyped-def]
    from service.email.outbox import enqueue
    from service.extensions import db

    context = {
        "customer_name": "Ada Lovelace",
        "amount_paid": 4900,
        "currency": "usd",
        "invoice_number": "INV-0042",
        "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1/in_42",
        "paid_at": "2026-11-27T09:30:00Z",
    }
    with app.app_context():
        for n in range(count):
            enqueue(f"evt_{tag}_{n}:receipt", "receipt", f"c{n}@example.com", context)
        db.session.commit()


def _dispatch_runners(app) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import distinct, func, select

    from service.extensions import db
    from service.jobstate.models import JobRun

    with app.app_context():
        found = db.session.scalar(
            select(func.count(distinct(JobRun.runner))).where(JobRun.job == "email-dispatch")
        )
        db.session.commit()
    return int(found or 0)


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"email bench: timed out waiting for {what}")
        time.sleep(0.05)


def service_rate(
    workdir: Path, url: str, sink: Sink, count: int, processes: int, **env: str
) -> float:
    """Messages/s at the sink with `processes` real workers."""
    app = _app(url)
    _reset(app)
    sink.reset()
    worker_env = base_env(
        url,
        SMTP_URL=f"smtp://127.0.0.1:{sink.port}?timeout=10",
        EMAIL_DISPATCH_INTERVAL_SECONDS="0.2",
        **TOKENS,
        **env,
    )
    logs = [open(workdir / f"worker-{i}.log", "ab") for i in range(processes)]  # noqa: SIM115
    workers = [
        subprocess.Popen(procfile_argv("worker"), cwd=ROOT, env=worker_env, stdout=log, stderr=log)
        for log in logs
    ]
    try:
        _wait(lambda: _dispatch_runners(app) >= processes, 60, "workers to start")
        _enqueue(app, count, uuid.uuid4().hex[:6])
        _wait(lambda: len(sink.arrivals()) >= count, 300, f"{count} messages at the sink")
        return rate(sink.arrivals())
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
        for log in logs:
            log.close()
        with app.app_context():
            from service.extensions import db

            db.engine.dispose()


def smtplib_rate(url: str, sink: Sink, count: int) -> float:
    """Plain smtplib over one connection, messages rendered beforehand."""
    from service.email.backends import OutgoingEmail
    from service.email.backends.smtp import build_message
    from service.email.templates import render

    app = _app(url)
    with app.app_context():
        context = {"customer_name": "Ada Lovelace", "amount_paid": 4900, "currency": "usd"}
        content = render("receipt", context)
        messages = [
            build_message(
                OutgoingEmail(f"k{n}", f"c{n}@example.com", "billing@example.com", content)
            )
            for n in range(count)
        ]
    sink.reset()
    with smtplib.SMTP("127.0.0.1", sink.port, local_hostname="bench", timeout=10) as client:
        for message in messages:
            client.send_message(message)
    _wait(lambda: len(sink.arrivals()) >= count, 30, "smtplib messages at the sink")
    return rate(sink.arrivals())


def commit_floor(url: str, count: int) -> float:
    """One UPDATE + COMMIT per message, sequentially, on the same database."""
    from sqlalchemy import text

    from service.extensions import db

    app = _app(url)
    with app.app_context():
        ids = [
            row[0] for row in db.session.execute(text("SELECT id FROM email_message LIMIT 2000"))
        ]
        db.session.commit()
        if not ids:
            return 0.0
        started = time.monotonic()
        for n in range(count):
            db.session.execute(
                text("UPDATE email_message SET attempts = attempts + 1 WHERE id = :id"),
                {"id": ids[n % len(ids)]},
            )
            db.session.commit()
        elapsed = time.monotonic() - started
        db.engine.dispose()
    return count / elapsed


def _row(measure: str, baseline: str, candidate: str, ratio: float, target: float) -> Row:
    return Row(TITLE, measure, baseline, candidate, ratio, f">= {target:.2f}x", ratio >= target)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _scaling_round(workdir: Path, url: str, sink: Sink, scale: float) -> dict[str, float]:
    return {
        "c1": service_rate(workdir, url, sink, int(60 * scale) + 10, 1, EMAIL_CONCURRENCY="1"),
        "c4": service_rate(workdir, url, sink, int(240 * scale) + 10, 1, EMAIL_CONCURRENCY="4"),
        "p3": service_rate(workdir, url, sink, int(720 * scale) + 10, 3, EMAIL_CONCURRENCY="4"),
    }


def _floor_round(workdir: Path, url: str, sink: Sink, count: int) -> dict[str, float]:
    """smtplib, the service, smtplib again: the service against its neighbours."""
    first = smtplib_rate(url, sink, count)
    service = service_rate(workdir, url, sink, count, 1)
    second = smtplib_rate(url, sink, count)
    return {"smtplib_a": first, "service": service, "smtplib_b": second}


def run(workdir: Path, quick: bool = False, rounds: int = 3) -> Outcome:
    """Rounds of each comparison, run in turn; the rows report per-round ratio medians
    (the machine is shared: neighbouring minutes differ, one round's pair does not)."""
    scale, rounds = (0.25, 1) if quick else (1.0, rounds)
    count = int(2000 * scale)
    scaling: list[dict[str, float]] = []
    floors: list[dict[str, float]] = []
    with database(workdir) as url:
        slow, fast = Sink(workdir, SLOW_DELAY), Sink(workdir, 0.0)
        try:
            for _ in range(rounds):
                scaling.append(_scaling_round(workdir, url, slow, scale))
                floors.append(_floor_round(workdir, url, fast, count))
        finally:
            slow.stop()
            fast.stop()
        commits = commit_floor(url, count)
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    med = {k: _median([r[k] for r in scaling]) for k in ("c1", "c4", "p3")}
    fl = {k: _median([r[k] for r in floors]) for k in ("smtplib_a", "service", "smtplib_b")}
    baseline = (fl["smtplib_a"] + fl["smtplib_b"]) / 2
    per_round = [r["service"] / ((r["smtplib_a"] + r["smtplib_b"]) / 2) for r in floors]
    sink_ms = f"sink {SLOW_DELAY * 1000:.0f} ms/msg"
    outcome = Outcome()
    outcome.rows += [
        _row(
            f"1 worker, EMAIL_CONCURRENCY 4 vs 1 ({sink_ms})",
            f"{med['c1']:.1f} msg/s",
            f"{med['c4']:.1f} msg/s",
            _median([r["c4"] / r["c1"] for r in scaling]),
            3.0,
        ),
        _row(
            f"3 workers vs 1, EMAIL_CONCURRENCY 4 ({sink_ms})",
            f"{med['c4']:.1f} msg/s",
            f"{med['p3']:.1f} msg/s",
            _median([r["p3"] / r["c4"] for r in scaling]),
            2.5,
        ),
        _row(
            f"1 worker, defaults, vs smtplib one connection pre-rendered ({backend})",
            f"{baseline:.0f} msg/s",
            f"{fl['service']:.0f} msg/s",
            _median(per_round),
            0.5,
        ),
        Row(
            TITLE,
            "A/A control: smtplib after the service vs before it",
            f"{fl['smtplib_a']:.0f} msg/s",
            f"{fl['smtplib_b']:.0f} msg/s",
            _median([r["smtplib_b"] / r["smtplib_a"] for r in floors]),
            "~1.00",
            None,
        ),
        Row(
            TITLE,
            f"floor: one UPDATE + COMMIT per message alone, one connection ({backend})",
            f"{baseline:.0f} msg/s",
            f"{commits:.0f} commits/s",
            commits / baseline,
            "info",
            None,
        ),
    ]
    outcome.details.append(
        f"Email dispatch on {backend}, {rounds} round(s); per round: "
        + "; ".join(
            f"c1 {s['c1']:.1f}, c4 {s['c4']:.1f}, 3 workers {s['p3']:.1f} msg/s | "
            f"smtplib {f['smtplib_a']:.0f}, service {f['service']:.0f}, "
            f"smtplib {f['smtplib_b']:.0f} msg/s"
            for s, f in zip(scaling, floors, strict=True)
        )
        + f". Commit floor {commits:.0f}/s ({count} sequential UPDATE + COMMIT)."
    )
    return outcome


if __name__ == "__main__":  # python -m bench.email_dispatch [--quick]
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-email-") as tmp:
        result = run(Path(tmp), quick="--quick" in sys.argv)
    for row in result.rows:
        print(f"{row.measure}: {row.baseline} -> {row.candidate} = {row.ratio:.2f} ({row.verdict})")
    print(*result.details, sep="\n")
