"""Row 6: resident memory of every process from 10,000 to 50,000 events and their emails.

The service as deployed: the Procfile's web line (2 workers) and worker
line (email dispatch to an SMTP server on loopback, bench/smtp_sink.py),
on the run's PostgreSQL database. Distinct signed `invoice.paid`
deliveries are sent in two stages; after each, the bench waits (bounded)
until the worker has delivered the emails they queued, then reads VmRSS of
each web worker and of the worker process from /proc. Growth from the
first checkpoint to the second must stay within 10% for every process:
what a month of traffic leaves behind must not accumulate.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

from devkit.processes import free_port, procfile_argv, rss_kib

from . import loadgen, pg
from .events import deliveries
from .results import Outcome, Row
from .server import ROOT, RunContext, base_env, serving

TARGET = 1.10
SENDERS = 4
EMAIL_WAIT_SECONDS = 60


@contextlib.contextmanager
def smtp_sink() -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.smtp_sink", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if proc.stdout is None or proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the SMTP sink did not start")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def worker(ctx: RunContext, smtp_port: int) -> Iterator[subprocess.Popen]:
    env = base_env(
        ctx.database_url,
        SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
        EMAIL_DISPATCH_INTERVAL_SECONDS="1",
    )
    with open(ctx.workdir / "memory-worker.log", "wb") as log:
        proc = subprocess.Popen(
            procfile_argv("worker"), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _delivered(url: str) -> int:
    return pg.count(url, "SELECT count(*) FROM email_message WHERE status = 'delivered'")


def _send(base: str, count: int) -> None:
    batch_size = 5000
    for start in range(0, count, batch_size):  # signed shortly before they are sent
        batch = deliveries(min(batch_size, count - start))
        answers = loadgen.post_all({base: batch}, SENDERS, timeout=600)[base]
        if set(answers) != {200}:
            raise RuntimeError(f"webhooks answered {dict(answers)}")


def _wait_for_emails(url: str, expected: int, already: int) -> tuple[int, float]:
    started = time.monotonic()
    while time.monotonic() - started < EMAIL_WAIT_SECONDS:
        if _delivered(url) - already >= expected:
            break
        time.sleep(0.5)
    return _delivered(url) - already, time.monotonic() - started


def run(ctx: RunContext) -> Outcome:
    first, total = (40, 120) if ctx.quick else (10_000, 50_000)
    # The rows before this one queued thousands of receipts: drop them, so
    # the worker sends exactly the emails of this row's events.
    pg.execute(ctx.database_url, "TRUNCATE email_message CASCADE")
    already = _delivered(ctx.database_url)
    checkpoints: list[dict[str, int]] = []
    notes = []
    with smtp_sink() as port, serving("memory", "wsgi:app", ctx, 2) as web, worker(ctx, port) as w:
        pids = {f"web worker {i + 1}": pid for i, pid in enumerate(web.worker_pids())}
        pids["worker process"] = w.pid
        sent = 0
        for target in (first, total):
            started = time.monotonic()
            _send(web.base, target - sent)
            sent = target
            emails, waited = _wait_for_emails(ctx.database_url, sent, already)
            notes.append(
                f"After {sent:,} events ({time.monotonic() - started:.0f} s):"
                f" {emails:,} emails delivered (waited {waited:.0f} s for the worker)."
            )
            checkpoints.append({name: rss_kib(pid) for name, pid in pids.items()})
        time.sleep(2)
        checkpoints.append({name: rss_kib(pid) for name, pid in pids.items()})  # A/A
    return summarize(first, total, checkpoints, notes)


def summarize(
    first: int, total: int, checkpoints: list[dict[str, int]], notes: list[str]
) -> Outcome:
    before, after, again = checkpoints
    growth = {name: after[name] / before[name] for name in before}
    control = max((again[name] / after[name] for name in before), key=lambda r: abs(r - 1))
    worst = max(growth, key=lambda name: growth[name])
    label = "6. Memory"
    rows = [
        Row(
            label,
            f"VmRSS {name}, after {first:,} -> {total:,} events and their emails",
            f"{before[name] / 1024:.1f} MiB",
            f"{after[name] / 1024:.1f} MiB",
            growth[name],
            f"<= {TARGET:.2f} (growth <= 10%)",
            growth[name] <= TARGET,
        )
        for name in before
    ]
    rows.append(
        Row(
            label,
            "A/A control: the same processes read again 2 s later (largest change)",
            "-",
            "-",
            control,
            "1.00 up to noise",
            None,
        )
    )
    details = [*notes, f"Largest growth: {worst} ({growth[worst]:.3f})."]
    return Outcome(rows, details)
