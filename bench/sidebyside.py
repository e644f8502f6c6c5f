"""Throughput of a candidate vs its baseline, all loaded at once, with an A/A control.

Three real Gunicorn servers: the candidate, the baseline, and the baseline
again as an A/A control. In each round one wrk per server loads all three
over the same seconds, so a burst of the neighbours' noise lands on all
three at once and the scheduler shares the CPUs evenly between their
workers; the cheaper app then completes more requests. Each round gives
A/B and B'/B; the ratios reported are medians over the rounds. Servers are
started afresh for each epoch, in rotating order: a worker process keeps
whatever luck it started with (where it runs beside the neighbours' load,
its memory layout) for life.

Taking turns (A, then B, one second each) was tried first: on this shared
machine throughput swung 2-3x between neighbouring seconds and the A/A
control drifted 5-20% from 1.00, as much as the effect to be measured.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from devkit.processes import cpu_seconds

from . import loadgen, stats
from .results import Row
from .server import RunContext, Server

NAMES = ("candidate", "baseline", "control")  # every comparison has these; more may follow
WARM_UP_REQUESTS = 30


@dataclass(frozen=True)
class App:
    spec: str  # module:attribute for Gunicorn
    config: str | None = None  # gunicorn config path; None: the service's own


@dataclass(frozen=True)
class Load:
    """What one round sends: `GET path`, or signed webhook deliveries (path None)."""

    path: str | None
    connections: int = 8  # 2 workers x 4 threads: enough to saturate both


@dataclass(frozen=True)
class Round:
    throughput: loadgen.Throughput
    cpu_us_per_request: float


@dataclass
class Comparison:
    rounds: list[dict[str, Round]]
    load_text: str

    def ratios(self, name: str, key: Callable[[Round], float]) -> list[float]:
        return [stats.ratio(key(r[name]), key(r["baseline"])) for r in self.rounds]

    def rps(self, name: str) -> float:
        return stats.median([r[name].throughput.rps for r in self.rounds])

    def ratio(self, name: str = "candidate") -> float:
        return stats.median(self.ratios(name, lambda r: r.throughput.rps))

    def ratio_to(self, name: str, reference: str) -> float:
        """Median over rounds of name's req/s / reference's req/s."""
        return stats.median(
            [stats.ratio(r[name].throughput.rps, r[reference].throughput.rps) for r in self.rounds]
        )

    def cpu_ratio(self) -> float:
        return stats.median(self.ratios("candidate", lambda r: r.cpu_us_per_request))

    def rows(self, label: str, measure: str, target: float, unit: str = "req/s") -> list[Row]:
        ratio, control = self.ratio(), self.ratio("control")
        base = f"{self.rps('baseline'):,.0f} {unit}"
        return [
            Row(
                label,
                measure,
                base,
                f"{self.rps('candidate'):,.0f} {unit}",
                ratio,
                f">= {target:.2f}",
                ratio >= target,
            ),
            Row(
                label,
                "A/A control: a second baseline server",
                base,
                f"{self.rps('control'):,.0f} {unit}",
                control,
                "1.00 up to noise",
                None,
            ),
            Row(
                label,
                "worker CPU per request, candidate / baseline (cross-check)",
                "-",
                "-",
                self.cpu_ratio(),
                "-",
                None,
            ),
        ]

    def details(self, names: dict[str, str]) -> list[str]:
        low, high = stats.spread(self.ratios("candidate", lambda r: r.throughput.rps))
        lines = [
            f"Load: {self.load_text}.",
            f"A/B per round: interquartile range {low:.3f} - {high:.3f};"
            f" A/A control {self.ratio('control'):.3f}.",
        ]
        for name in names:
            lines.append(
                f"Rounds, {name} ({names[name]}): req/s "
                + ", ".join(f"{r[name].throughput.rps:,.0f}" for r in self.rounds)
                + "; worker CPU µs/request "
                + ", ".join(f"{r[name].cpu_us_per_request:,.0f}" for r in self.rounds)
            )
        return lines


def _warm_up(servers: dict[str, Server], load: Load, run: RunContext) -> None:
    """A few requests each: lazy imports, first connections, the page cache."""
    if load.path is None:
        for server in servers.values():
            statuses = loadgen.post_deliveries(server.base, WARM_UP_REQUESTS)
            if set(statuses) != {200}:
                raise RuntimeError(f"{server.name} answered {dict(statuses)} while warming up")
        return
    warm = [("GET", load.path)] * WARM_UP_REQUESTS
    answers = loadgen.drive({s.base: warm for s in servers.values()}, processes=1)
    for base, statuses in answers.items():
        if set(statuses) != {200}:
            raise RuntimeError(f"{base} answered {dict(statuses)} while warming up")


def _one_round(
    servers: dict[str, Server], load: Load, run: RunContext, seconds: float, index: int
) -> dict[str, Round]:
    pids = {name: server.worker_pids() for name, server in servers.items()}
    before = {name: cpu_seconds(p) for name, p in pids.items()}
    bases = [server.base for server in servers.values()]
    if load.path is None:
        scratch = run.workdir / f"round-{index}"
        measured = loadgen.webhook_round(run.wrk, bases, seconds, load.connections, scratch)
    else:
        urls = [f"{base}{load.path}" for base in bases]
        measured = loadgen.get_round(run.wrk, urls, seconds, load.connections)
    by_name = dict(zip(servers, measured, strict=True))
    return {
        name: Round(t, (cpu_seconds(pids[name]) - before[name]) / max(t.requests, 1) * 1e6)
        for name, t in by_name.items()
    }


@contextlib.contextmanager
def fleet(
    apps: dict[str, App], run: RunContext, workers: int, epoch: int, tag: str
) -> Iterator[dict[str, Server]]:
    with contextlib.ExitStack() as stack:
        servers = {}
        for name in stats.rotation(list(apps), epoch):
            app = apps[name]
            server = Server(f"{tag}-{name}-{epoch}", app.spec, run, workers, app.config)
            stack.callback(server.stop)
            servers[name] = server
        for server in servers.values():
            server.wait_ready()
        yield {name: servers[name] for name in apps}


def compare(
    tag: str,
    apps: dict[str, App],
    load: Load,
    run: RunContext,
    epochs: int,
    rounds: int,
    seconds: float,
    workers: int = 2,
) -> Comparison:
    results: list[dict[str, Round]] = []
    for epoch in range(epochs):
        with fleet(apps, run, workers, epoch, tag) as servers:
            _warm_up(servers, load, run)
            for i in range(rounds):
                results.append(_one_round(servers, load, run, seconds, epoch * rounds + i))
    errors = sum(r.throughput.errors for rnd in results for r in rnd.values())
    if errors:
        raise RuntimeError(f"{tag}: {errors} failed requests during the rounds")
    tool = "wrk, 1 thread" if run.wrk else "Python client processes"
    text = (
        f"{tool} and {load.connections} connections per server, {seconds:g} s rounds;"
        f" {epochs} epoch(s) of fresh servers x {rounds} rounds; {workers} workers per server"
    )
    return Comparison(results, text)
