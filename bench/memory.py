"""Benchmark 4: resident memory of one Gunicorn worker after 5,000 requests.

One worker per app, so that worker serves every request. The mix is mostly
`/healthz` plus one unmatched URL in five, each one different, which must all
share the `<unmatched>` label and so must not grow memory. VmRSS is read from
/proc/<pid>/status before and after.
"""

from __future__ import annotations

from pathlib import Path

from devkit.processes import rss_kib

from . import loadgen, stats
from .results import Outcome, Row
from .server import Server, serving

TARGET_RATIO = 1.10
REQUESTS = 5000
APPS = {"instrumented": "wsgi:app", "baseline": "bench.wsgi_baseline:app"}


def request_mix(count: int) -> list[loadgen.Request]:
    return [("GET", f"/no-such-page/{i}" if i % 5 == 4 else "/healthz") for i in range(count)]


def _load(servers: dict[str, Server], requests: list[loadgen.Request]) -> dict[str, tuple]:
    """(VmRSS before, VmRSS after) of each server's only worker, loaded side by side."""
    pids = {name: server.worker_pids()[0] for name, server in servers.items()}
    before = {name: rss_kib(pid) for name, pid in pids.items()}
    answers = loadgen.drive({s.base: requests for s in servers.values()}, processes=2)
    for server in servers.values():
        if set(answers[server.base]) - {200, 404}:
            raise RuntimeError(f"unexpected answers from {server.name}: {answers[server.base]}")
    return {name: (before[name], rss_kib(pid)) for name, pid in pids.items()}


def run(workdir: Path, rounds: int) -> Outcome:
    requests = request_mix(REQUESTS)
    rss: dict[str, list[tuple[int, int]]] = {name: [] for name in APPS}
    for i in range(rounds):
        with (
            serving(f"mem-a{i}", APPS["instrumented"], workdir, 1) as a,
            serving(f"mem-b{i}", APPS["baseline"], workdir, 1) as b,
        ):
            for name, pair in _load({"instrumented": a, "baseline": b}, requests).items():
                rss[name].append(pair)
    return summarize(rss)


def summarize(rss: dict[str, list[tuple[int, int]]]) -> Outcome:
    after = {name: stats.median([r[1] for r in runs]) for name, runs in rss.items()}
    ratio = stats.ratio(after["instrumented"], after["baseline"])
    row = Row(
        "4. Worker memory",
        f"VmRSS of the only worker after {REQUESTS:,} requests"
        + (f", median of {len(rss['baseline'])} runs" if len(rss["baseline"]) > 1 else ""),
        f"{after['baseline'] / 1024:.1f} MiB",
        f"{after['instrumented'] / 1024:.1f} MiB",
        ratio,
        f"instrumented <= {TARGET_RATIO:.0%} of baseline",
        ratio <= TARGET_RATIO,
    )
    details = [
        f"{name}: VmRSS before -> after load (KiB): "
        + ", ".join(f"{b:,} -> {a:,}" for b, a in runs)
        for name, runs in rss.items()
    ]
    return Outcome([row], details)
