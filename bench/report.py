"""docs/PERFORMANCE.md: how the numbers were made, then the numbers."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from importlib.metadata import version

from .results import Outcome

METHOD = """\
## Method

The machine is small and shared (other test suites run on it at the same
time), so no number here is an absolute claim: each benchmark compares the
candidate with a baseline measured in the same run (side by side or in
interleaved rounds, with an A/A control where timing is involved) and
reports medians and their ratio. Re-run `make bench` before trusting a small
difference; the per-round numbers under *Details* show how noisy a run was.

1. **HTTP instrumentation overhead.** Three real Gunicorn servers with the
   Procfile's `web` command and `gunicorn.conf.py` (production settings: JSON
   logs, access log on, tokens set; SQLite migrated with `python -m
   service.release` in a temporary directory), serving (A) `wsgi:app`, (B)
   `bench.wsgi_baseline:app`, the same `create_app()` with the metrics
   middleware (`RequestMetrics`) unwrapped, and (B') the
   baseline again as an A/A control. In each two-second round one wrk per
   server (separate processes, loopback) loads all three at once with
   `GET /healthz`: the neighbours' noise then lands on all three in the same
   seconds and the scheduler shares the CPUs evenly between their workers,
   so the cheaper app completes more requests. Taking turns (A for a second,
   then B) was tried first and could not resolve 10% here: throughput swung
   2-3x between neighbouring seconds and the A/A control drifted 5-20%. The
   servers are started afresh for each of four epochs, in rotating order,
   because a worker process keeps the luck it started with (its place beside
   the neighbours' load, its memory layout) for life. Ratio = median of the
   per-round A/B ratios; B'/B shows how far pure noise moves a ratio. The
   workers' CPU time per request (utime + stime) is recorded as well.
2. **In-process per-request cost.** A direct WSGI call loop (werkzeug
   `EnvironBuilder` + `app.wsgi_app`) over the same apps (and the same A/A
   control) in one process with `PROMETHEUS_MULTIPROC_DIR` set, as under
   Gunicorn. No socket, parser or access log, so this ratio overstates the
   share the hooks take of a real request; the microseconds added are the
   useful number. Each step of the hooks is also timed alone.
3. **`/metrics` scrape cost.** A bench-only app (`bench/wsgi_series.py`) adds
   route templates answering every method with the status asked for; one
   server is driven through templates x 5 methods x 4 status classes (500
   latency series by default) over fresh connections so every worker writes
   its own file; a second server of the same app only sees `/healthz`.
   Scrapes alternate between the two and are timed at the client, and the
   multiprocess collector is also timed alone on the same files. Its cost
   grows with series x samples per series (13 for a histogram with 11
   buckets) x files: one per worker that ever ran, since a dead or recycled
   worker's (`GUNICORN_MAX_REQUESTS`) files stay until the master restarts.
4. **Worker memory.** One-worker servers of each app, loaded side by side,
   each receive 5,000 requests (`/healthz`, and one in five a distinct
   unmatched URL, which must share the `<unmatched>` label); VmRSS of the
   worker is read from `/proc/<pid>/status` before and after.

`GET /healthz` is the cheapest route there is (no database, a 16-byte
body), so benchmark 1 is the worst case for the hooks' share: their cost is
fixed per request (tens of µs, benchmark 2), and any route doing real work
dilutes it.
"""


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
        "## Details",
    ]
    for title, outcome in zip(titles, outcomes, strict=True):
        parts += ["", f"### {title}", ""]
        parts += [line if line.startswith("  -") else f"- {line}" for line in outcome.details]
    return "\n".join(parts) + "\n"
