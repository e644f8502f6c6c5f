"""Row 3: /readyz and /metrics latency while webhooks arrive at half the peak.

One service (Procfile web line, 2 workers, PostgreSQL). First its peak
webhook rate is measured alone (wrk, distinct signed deliveries); then
webhooks are sent at half that rate on a fixed schedule while probes GET
/readyz (two probers: the second is the A/A control) and /metrics on
fresh connections, as kubelet and Prometheus do. Targets: p99 /readyz
<= 20 ms, /metrics <= 50 ms. The same probes on the idle server give the
reference each loaded figure is divided by.
"""

from __future__ import annotations

import statistics
from collections import Counter

from . import loadgen
from .results import Outcome, Row
from .server import METRICS_TOKEN, RunContext, serving

READYZ_TARGET_MS, METRICS_TARGET_MS = 20.0, 50.0
READYZ_INTERVAL, METRICS_INTERVAL = 0.05, 0.1


def p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def _probes(base: str) -> list[loadgen.Probe]:
    auth = (("Authorization", f"Bearer {METRICS_TOKEN}"),)
    return [
        loadgen.Probe(base, "/readyz", (), READYZ_INTERVAL),
        loadgen.Probe(base, "/readyz", (), READYZ_INTERVAL),  # A/A control
        loadgen.Probe(base, "/metrics", auth, METRICS_INTERVAL),
    ]


def _check(results: list[tuple[list[float], Counter]], when: str) -> None:
    for _, statuses in results:
        if set(statuses) - {200}:
            raise RuntimeError(f"probes {when} answered {dict(statuses)}")


def run(ctx: RunContext) -> Outcome:
    peak_seconds, idle_seconds, load_seconds = (1.0, 1.0, 2.0) if ctx.quick else (3.0, 3.0, 15.0)
    with serving("health", "wsgi:app", ctx, 2) as web:
        loadgen.post_deliveries(web.base, 30)  # warm-up
        peak = loadgen.webhook_round(ctx.wrk, [web.base], peak_seconds, 8, ctx.workdir / "peak")
        idle = loadgen.probe_only(_probes(web.base), idle_seconds)
        _check(idle, "on the idle server")
        rate = max(1.0, peak[0].rps / 2)
        sent, loaded = loadgen.load_and_probe(web.base, rate, load_seconds, _probes(web.base))
        _check(loaded, "under load")
    if set(sent) - {200}:
        raise RuntimeError(f"webhooks under the probes answered {dict(sent)}")
    return summarize(peak[0].rps, rate, sum(sent.values()) / load_seconds, idle, loaded)


def summarize(peak: float, rate: float, achieved: float, idle: list, loaded: list) -> Outcome:
    label = "3. Health under load"
    ready, ready_aa, scrape = (p99(lat) for lat, _ in loaded)
    ready_idle, _, scrape_idle = (p99(lat) for lat, _ in idle)
    rows = [
        Row(
            label,
            "/readyz p99 ms, webhooks at half the peak (idle server as reference)",
            f"{ready_idle:.1f} ms",
            f"{ready:.1f} ms",
            ready / ready_idle if ready_idle else None,
            f"p99 <= {READYZ_TARGET_MS:.0f} ms",
            ready <= READYZ_TARGET_MS,
        ),
        Row(
            label,
            "A/A control: a second /readyz prober in the same seconds",
            f"{ready:.1f} ms",
            f"{ready_aa:.1f} ms",
            ready_aa / ready if ready else None,
            "1.00 up to noise",
            None,
        ),
        Row(
            label,
            "/metrics p99 ms, same load (idle server as reference)",
            f"{scrape_idle:.1f} ms",
            f"{scrape:.1f} ms",
            scrape / scrape_idle if scrape_idle else None,
            f"p99 <= {METRICS_TARGET_MS:.0f} ms",
            scrape <= METRICS_TARGET_MS,
        ),
    ]
    details = [
        f"Peak (wrk alone, 8 connections): {peak:,.0f} events/s; load: {rate:,.0f} events/s"
        f" scheduled, {achieved:,.0f} events/s sent.",
        *(
            f"{name}: {len(lat)} probes, p50 {statistics.median(lat):.1f} ms,"
            f" p99 {p99(lat):.1f} ms, max {max(lat):.1f} ms ({when})"
            for when, results in (("idle", idle), ("loaded", loaded))
            for name, (lat, _) in zip(
                ("/readyz", "/readyz (A/A)", "/metrics"), results, strict=True
            )
        ),
    ]
    return Outcome(rows, details)
