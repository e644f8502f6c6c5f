"""docs/PERFORMANCE.md: how the numbers were made, then the numbers."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from .results import Outcome

METHOD = """\
## Method

The machine is small and shared, so no number here is an absolute claim:
each row compares the service with a baseline measured in the same run,
loaded at the same time, and reports medians of per-round ratios, with an
A/A control (the baseline against a second copy of itself) that shows how
far pure noise moves a ratio. Every server is a real Gunicorn started from
the Procfile's `web` line (production settings: `APP_ENV=production`, JSON
logs, the JSON access log on, tokens set) on one scratch PostgreSQL database
migrated by the Procfile's `release` step; baselines keep the service's
worker settings (`bench/apps/gunicorn_bare.py` reads them from
`gunicorn.conf.py`) and drop its logging. Load comes from wrk on loopback
(one wrk per server, all in the same seconds, 8 connections: enough for 2
workers x 4 threads), webhooks through `bench/lua/replay.lua`, which sends
each pre-signed delivery once and stops when they run out. Throughput
rounds run side by side because taking turns could not resolve 10% here:
throughput swung 2-3x between neighbouring seconds.

1. **Webhook ingest.** Distinct signed `invoice.paid` deliveries
   (`bench/events.py`, address in the payload, so no Stripe API call). The
   baseline (`bench/apps/minimal_webhook.py`) verifies the signature with
   the Stripe library, parses, and runs three SQL statements in one
   transaction (store the event deduplicated by id, upsert the invoice,
   queue the email): the floor any correct handler pays. SQL statements
   and commits per event are counted at the driver
   (`python -m bench.statements`). The worker CPU per request (utime +
   stime of the workers over the round) is a cross-check that noise moves
   less than throughput.
2. **Email dispatch.** Real worker processes sending to an SMTP sink on
   loopback vs plain smtplib over one connection, and the floor of one
   commit per message; its own docstring (`bench/email_dispatch.py`) says
   how its rounds work.
3. **Health under load.** The service's peak webhook rate is measured
   alone; then webhooks are sent at half of it on a fixed schedule while
   probes GET `/readyz` every 50 ms (twice: the second prober is the A/A
   control) and `/metrics` every 100 ms, each on a fresh connection as
   kubelet and Prometheus do. p99 over the whole load; the idle server's p99
   is the reference.
4. **Full request path.** `GET /healthz` on the service (JSON access log,
   request id, metrics middleware, error handlers) vs a Flask app with one
   view (`bench/apps/bare_flask.py`) under the same Gunicorn settings,
   which include an access log on stderr: Gunicorn's own text line
   (`bench/apps/gunicorn_logged.py`). A fourth server, bare Flask with no
   access log at all, is the reference for the whole cost of logging.
5. **Peer.** Our `RequestMetrics` WSGI middleware vs prometheus-flask-exporter
   configured for the same families (latency histogram by method, route
   template and status with our buckets, plus its request and exception
   counters) on the same `create_app()` (`bench/apps/exporter.py`), both
   with the service's gunicorn.conf.py. No target: it shows the choice.
6. **Memory.** The Procfile's `web` (2 workers) and `worker` processes, the
   worker sending to an SMTP server on loopback (`bench/smtp_sink.py`);
   distinct events in two stages, each followed by a bounded wait until the
   worker has delivered their emails; VmRSS of every process from
   /proc at both checkpoints. The A/A control reads them again 2 s later.
7. **`/metrics` scrape cost.** A bench-only app (`bench/wsgi_series.py`)
   drives route templates x 5 methods x 4 status classes (500 latency series)
   so every worker writes its own file; a second server only sees `/healthz`.

Profiles: `python -m bench.profile` runs one service worker under wrk with
py-spy sampling it and writes a flame graph (`docs/profiles/`);
`python -m bench.profile_email` does the same for one worker process
sending a backlog of receipts.
"""


# Written by hand (what the profiles showed and what changed); copied into
# every report so docs/PERFORMANCE.md stays whole.
PROFILES_NOTE = Path(__file__).resolve().parent.parent / "docs" / "profiles" / "README.md"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_facts(loadgen: str, load_before: tuple[float, ...]) -> list[str]:
    load_after = os.getloadavg()
    return [
        f"- nproc: {len(os.sched_getaffinity(0))} ({_cpu_model()})",
        f"- Python: {sys.version.split()[0]} ({platform.python_implementation()}),"
        f" {platform.system()} {platform.release()}",
        f"- gunicorn {version('gunicorn')}, Flask {version('flask')},"
        f" prometheus-client {version('prometheus-client')}",
        f"- load generator: {loadgen}",
        "- load average (1, 5, 15 min) at start: "
        + ", ".join(f"{x:.2f}" for x in load_before)
        + "; at end: "
        + ", ".join(f"{x:.2f}" for x in load_after),
    ]


def _fmt_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.3f}"


def table(outcomes: list[Outcome]) -> list[str]:
    lines = [
        "| benchmark | measure | baseline | instrumented / candidate | ratio | target | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        for r in outcome.rows:
            cells = (r.benchmark, r.measure, r.baseline, r.candidate, _fmt_ratio(r.ratio))
            lines.append("| " + " | ".join((*cells, r.target, f"**{r.verdict}**")) + " |")
    return lines


def render(
    outcomes: list[Outcome], command: str, facts: list[str], seconds: float, titles: list[str]
) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# Performance",
        "",
        "Generated by the benchmarks in `bench/`; do not edit by hand, re-run instead.",
        "",
        f"- command: `{command}` (from a clean clone: `make install` then `{command}`)",
        f"- date: {now}; whole run took {seconds:.0f} s",
        *facts,
        "",
        "## Results",
        "",
        *table(outcomes),
        "",
        METHOD,
        PROFILES_NOTE.read_text(),
        "## Details",
    ]
    for title, outcome in zip(titles, outcomes, strict=True):
        parts += ["", f"### {title}", ""]
        parts += [line if line.startswith("  -") else f"- {line}" for line in outcome.details]
    return "\n".join(parts) + "\n"
