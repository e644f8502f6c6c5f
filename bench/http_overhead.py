"""Benchmark 1: HTTP throughput of the instrumented app vs the baseline.

Both apps run under real Gunicorn at once (same gunicorn.conf.py, same worker
count), and one load generator in its own process hits `GET /healthz` on one
and then the other: rounds alternate A/B/A/B so a burst of noise from the
machine's other users lands on both. Ratio = median(A) / median(B).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import loadgen, stats
from .results import Outcome, Row
from .server import serving

TARGET_RATIO = 0.90
INSTRUMENTED, BASELINE = "wsgi:app", "bench.wsgi_baseline:app"


def _round_runner(wrk: str | None, connections: int) -> Callable[[str, float], loadgen.Throughput]:
    if wrk:
        return lambda url, seconds: loadgen.wrk_round(wrk, url, seconds, connections)
    return lambda url, seconds: loadgen.python_round(url, seconds, connections)


def _rounds(run: Callable, urls: dict[str, str], rounds: int, seconds: float) -> dict[str, list]:
    for url in urls.values():  # warm-up: imports, first connections, page cache
        run(url, 1)
    results: dict[str, list[loadgen.Throughput]] = {name: [] for name in urls}
    for _ in range(rounds):
        for name, url in urls.items():
            results[name].append(run(url, seconds))
    return results


def run(
    workdir: Path, wrk: str | None, workers: int, rounds: int, seconds: float, connections: int
) -> Outcome:
    with (
        serving("http-a", INSTRUMENTED, workdir, workers) as a,
        serving("http-b", BASELINE, workdir, workers) as b,
    ):
        urls = {"instrumented": f"{a.base}/healthz", "baseline": f"{b.base}/healthz"}
        results = _rounds(_round_runner(wrk, connections), urls, rounds, seconds)
    return summarize(results, wrk is not None, workers, connections)


def summarize(results: dict[str, list], used_wrk: bool, workers: int, connections: int) -> Outcome:
    errors = sum(t.errors for series in results.values() for t in series)
    if errors:
        raise RuntimeError(f"{errors} failed requests during the throughput rounds")
    a = [t.rps for t in results["instrumented"]]
    b = [t.rps for t in results["baseline"]]
    ratio = stats.ratio(stats.median(a), stats.median(b))
    pairs = stats.pair_ratios(a, b)
    low, high = stats.spread(pairs)
    row = Row(
        "1. HTTP overhead (Gunicorn)",
        f"GET /healthz req/s, median of {len(a)} rounds",
        f"{stats.median(b):,.0f}",
        f"{stats.median(a):,.0f}",
        ratio,
        f"instrumented >= {TARGET_RATIO:.0%} of baseline",
        ratio >= TARGET_RATIO,
    )
    tool = "wrk (1 thread)" if used_wrk else "Python http.client processes"
    details = [
        f"Load: {tool}, {connections} concurrent connections; {workers} Gunicorn sync workers"
        " per app.",
        f"Per-pair ratio (A/B): median {stats.median(pairs):.3f},"
        f" interquartile range {low:.3f} - {high:.3f}.",
        "Rounds, req/s: A (instrumented) " + ", ".join(f"{x:,.0f}" for x in a),
        "Rounds, req/s: B (baseline) " + ", ".join(f"{x:,.0f}" for x in b),
    ]
    return Outcome([row], details)
