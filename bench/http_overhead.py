"""Benchmark 1: HTTP throughput of the instrumented app vs the baseline.

Both apps run under real Gunicorn at once (same gunicorn.conf.py, same worker
count), and one load generator in its own process hits `GET /healthz` on one
and then the other: rounds alternate A/B/A/B so a burst of noise from the
machine's other users lands on both. Ratio = median(A) / median(B).

The workers' own CPU time per request (utime + stime from /proc) is recorded
in the same rounds as a cross-check: it does not depend on how much of the
machine the neighbours left us, only on what a request costs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import loadgen, stats
from .results import Outcome, Row
from .server import Server, cpu_seconds, serving

TARGET_RATIO = 0.90
INSTRUMENTED, BASELINE = "wsgi:app", "bench.wsgi_baseline:app"
Runner = Callable[[str, float], loadgen.Throughput]


@dataclass(frozen=True)
class Round:
    throughput: loadgen.Throughput
    cpu_us_per_request: float


def _round_runner(wrk: str | None, connections: int) -> Runner:
    if wrk:
        return lambda url, seconds: loadgen.wrk_round(wrk, url, seconds, connections)
    return lambda url, seconds: loadgen.python_round(url, seconds, connections)


def _one_round(run: Runner, server: Server, seconds: float) -> Round:
    pids = server.worker_pids()
    before = cpu_seconds(pids)
    throughput = run(f"{server.base}/healthz", seconds)
    used = cpu_seconds(pids) - before
    return Round(throughput, used / max(throughput.requests, 1) * 1e6)


def _rounds(run: Runner, servers: dict[str, Server], rounds: int, seconds: float) -> dict:
    for server in servers.values():  # warm-up: imports, first connections, page cache
        run(f"{server.base}/healthz", 1)
    results: dict[str, list[Round]] = {name: [] for name in servers}
    for _ in range(rounds):
        for name, server in servers.items():
            results[name].append(_one_round(run, server, seconds))
    return results


def run(
    workdir: Path, wrk: str | None, workers: int, rounds: int, seconds: float, connections: int
) -> Outcome:
    with (
        serving("http-a", INSTRUMENTED, workdir, workers) as a,
        serving("http-b", BASELINE, workdir, workers) as b,
    ):
        servers = {"instrumented": a, "baseline": b}
        results = _rounds(_round_runner(wrk, connections), servers, rounds, seconds)
    tool = "wrk (1 thread)" if wrk else "Python http.client processes"
    return summarize(results, f"{tool}, {connections} concurrent connections", workers)


def summarize(results: dict[str, list[Round]], load: str, workers: int) -> Outcome:
    errors = sum(r.throughput.errors for series in results.values() for r in series)
    if errors:
        raise RuntimeError(f"{errors} failed requests during the throughput rounds")
    a = [r.throughput.rps for r in results["instrumented"]]
    b = [r.throughput.rps for r in results["baseline"]]
    cpu_a = [r.cpu_us_per_request for r in results["instrumented"]]
    cpu_b = [r.cpu_us_per_request for r in results["baseline"]]
    ratio = stats.ratio(stats.median(a), stats.median(b))
    rows = [
        Row(
            "1. HTTP overhead (Gunicorn)",
            f"GET /healthz req/s, median of {len(a)} rounds of {load.split(',')[0]}",
            f"{stats.median(b):,.0f}",
            f"{stats.median(a):,.0f}",
            ratio,
            f"instrumented >= {TARGET_RATIO:.0%} of baseline",
            ratio >= TARGET_RATIO,
        ),
        Row(
            "1. HTTP overhead (Gunicorn)",
            "worker CPU µs per request (same rounds; cross-check)",
            f"{stats.median(cpu_b):,.0f} µs",
            f"{stats.median(cpu_a):,.0f} µs",
            stats.ratio(stats.median(cpu_a), stats.median(cpu_b)),
            "-",
            None,
        ),
    ]
    pairs = stats.pair_ratios(a, b)
    low, high = stats.spread(pairs)
    details = [
        f"Load: {load}; {workers} Gunicorn sync workers per app.",
        f"Per-pair throughput ratio (A/B): median {stats.median(pairs):.3f},"
        f" interquartile range {low:.3f} - {high:.3f}.",
        "Rounds, req/s: A (instrumented) " + ", ".join(f"{x:,.0f}" for x in a),
        "Rounds, req/s: B (baseline) " + ", ".join(f"{x:,.0f}" for x in b),
        "Rounds, worker CPU µs/request: A " + ", ".join(f"{x:,.0f}" for x in cpu_a),
        "Rounds, worker CPU µs/request: B " + ", ".join(f"{x:,.0f}" for x in cpu_b),
    ]
    return Outcome(rows, details)
