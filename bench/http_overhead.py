"""Benchmark 1: HTTP throughput of the instrumented app vs the baseline.

Three real Gunicorn servers (the Procfile's web command, gunicorn.conf.py,
same worker count): A serves `wsgi:app`, B the baseline without the metrics
hooks, B' the baseline again as an A/A control. In each round one wrk per
server loads all three over the same seconds, so a burst of the neighbours'
noise lands on all three at once and the scheduler shares the CPUs evenly
between their workers; the faster app then completes more requests. Each
round gives A/B and B'/B; the ratios reported are medians over the rounds.

Taking turns (A, then B, one second each) was tried first: on this shared
machine throughput swung 2-3x between neighbouring seconds and the A/A
control drifted 5-20% from 1.00, as much as the effect to be measured.

The workers' own CPU time per request (utime + stime from /proc) is taken
in the same rounds as a cross-check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from devkit.processes import cpu_seconds

from . import loadgen, stats
from .results import Outcome, Row
from .server import Server

TARGET_RATIO = 0.90
INSTRUMENTED, BASELINE = "wsgi:app", "bench.wsgi_baseline:app"
APPS = {"instrumented": INSTRUMENTED, "baseline": BASELINE, "control": BASELINE}
WARM_UP_REQUESTS = 50
Runner = Callable[[list[str], float], list[loadgen.Throughput]]


@dataclass(frozen=True)
class Round:
    throughput: loadgen.Throughput
    cpu_us_per_request: float


def _round_runner(wrk: str | None, connections: int) -> Runner:
    if wrk:
        return lambda urls, seconds: loadgen.wrk_round(wrk, urls, seconds, connections)
    return lambda urls, seconds: loadgen.python_round(urls, seconds, connections)


def _warm_up(servers: dict[str, Server]) -> None:
    """A few requests each: lazy imports, first connections, the page cache."""
    warm = [("GET", "/healthz")] * WARM_UP_REQUESTS
    answers = loadgen.drive({s.base: warm for s in servers.values()}, processes=1)
    for base, statuses in answers.items():
        if set(statuses) != {200}:
            raise RuntimeError(f"{base} answered {dict(statuses)} while warming up")


def _one_round(run: Runner, servers: dict[str, Server], seconds: float) -> dict[str, Round]:
    pids = {name: server.worker_pids() for name, server in servers.items()}
    before = {name: cpu_seconds(p) for name, p in pids.items()}
    urls = [f"{server.base}/healthz" for server in servers.values()]
    measured = dict(zip(servers, run(urls, seconds), strict=True))
    return {
        name: Round(t, (cpu_seconds(pids[name]) - before[name]) / max(t.requests, 1) * 1e6)
        for name, t in measured.items()
    }


@contextlib.contextmanager
def fleet(workdir: Path, workers: int, epoch: int) -> Iterator[dict[str, Server]]:
    """Fresh servers for one epoch, started in a rotating order.

    A worker process keeps whatever luck it started with for its whole life
    (where it runs beside the neighbours' load, its memory layout); fresh
    processes each epoch turn that bias into noise the median can absorb.
    """
    with contextlib.ExitStack() as stack:
        servers = {}
        for name in stats.rotation(list(APPS), epoch):
            server = Server(f"http-{name}-{epoch}", APPS[name], workdir, workers)
            stack.callback(server.stop)
            servers[name] = server
        for server in servers.values():
            server.wait_ready()
        yield {name: servers[name] for name in APPS}


def run(
    workdir: Path,
    wrk: str | None,
    workers: int,
    epochs: int,
    rounds: int,
    seconds: float,
    connections: int,
) -> Outcome:
    runner = _round_runner(wrk, connections)
    results: list[dict[str, Round]] = []
    for epoch in range(epochs):
        with fleet(workdir, workers, epoch) as servers:
            _warm_up(servers)
            results += [_one_round(runner, servers, seconds) for _ in range(rounds)]
    tool = "wrk, 1 thread" if wrk else "Python http.client processes"
    load = (
        f"{tool} and {connections} connections per server, {seconds:g} s rounds;"
        f" {epochs} epochs of fresh servers x {rounds} rounds; {workers} sync workers per server"
    )
    return summarize(results, load)


def _ratios(results: list[dict[str, Round]], name: str, key: Callable[[Round], float]) -> list:
    return [stats.ratio(key(r[name]), key(r["baseline"])) for r in results]


def summarize(results: list[dict[str, Round]], load: str) -> Outcome:
    errors = sum(r.throughput.errors for rnd in results for r in rnd.values())
    if errors:
        raise RuntimeError(f"{errors} failed requests during the throughput rounds")

    def rps(r: Round) -> float:
        return r.throughput.rps

    def cpu(r: Round) -> float:
        return r.cpu_us_per_request

    def med(name: str, key: Callable[[Round], float]) -> float:
        return stats.median([key(r[name]) for r in results])

    ratio = stats.median(_ratios(results, "instrumented", rps))
    control = stats.median(_ratios(results, "control", rps))
    n = len(results)
    rows = [
        Row(
            "1. HTTP overhead (Gunicorn)",
            f"GET /healthz req/s, all three loaded at once, medians of {n} rounds",
            f"{med('baseline', rps):,.0f}",
            f"{med('instrumented', rps):,.0f}",
            ratio,
            f"instrumented >= {TARGET_RATIO:.0%} of baseline",
            ratio >= TARGET_RATIO,
        ),
        Row(
            "1. HTTP overhead (Gunicorn)",
            "A/A control: a second baseline server (noise floor)",
            f"{med('baseline', rps):,.0f}",
            f"{med('control', rps):,.0f}",
            control,
            "1.00 up to noise",
            None,
        ),
        Row(
            "1. HTTP overhead (Gunicorn)",
            "worker CPU µs per request (same rounds; cross-check)",
            f"{med('baseline', cpu):,.0f} µs",
            f"{med('instrumented', cpu):,.0f} µs",
            stats.median(_ratios(results, "instrumented", cpu)),
            "-",
            None,
        ),
    ]
    return Outcome(rows, _details(results, load, ratio, control))


def _details(results: list[dict[str, Round]], load: str, ratio: float, control: float) -> list:
    low, high = stats.spread(_ratios(results, "instrumented", lambda r: r.throughput.rps))
    lines = [
        f"Load: {load}.",
        f"Ratio column = median of the per-round ratios (each round's A/B, B'/B). A/B per round:"
        f" interquartile range {low:.3f} - {high:.3f}.",
        f"Noise floor: the A/A control is {abs(1 - control):.1%} from 1.00 in this run;"
        f" the instrumented app is {abs(1 - ratio):.1%} from the baseline.",
    ]
    for label, name in (("A", "instrumented"), ("B", "baseline"), ("B'", "control")):
        lines.append(
            f"Rounds, {label} ({name}): req/s "
            + ", ".join(f"{r[name].throughput.rps:,.0f}" for r in results)
            + "; worker CPU µs/request "
            + ", ".join(f"{r[name].cpu_us_per_request:,.0f}" for r in results)
        )
    return lines
