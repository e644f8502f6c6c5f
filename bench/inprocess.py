"""Benchmark 2: per-request cost in one process, no network, no Gunicorn.

A direct WSGI call loop (werkzeug's EnvironBuilder + `app.wsgi_app`) over the
instrumented app and the baseline, rounds interleaved. It runs in a process of
its own (`python -m bench.inprocess`, started by `run()`) because
prometheus_client picks its storage at import: PROMETHEUS_MULTIPROC_DIR is set
first, so an observation costs what it costs under Gunicorn (an mmap'd file).
`--profile` prints a cProfile of the instrumented loop instead.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import stats
from .results import Outcome, Row
from .server import ROOT, base_env

PATH = "/healthz"


def _build_apps() -> dict[str, Any]:
    """The instrumented app, the baseline, and a second baseline as an A/A control."""
    from bench.wsgi_baseline import strip_http_metrics
    from service import create_app

    return {
        "instrumented": create_app(),
        "baseline": strip_http_metrics(create_app()),
        "control": strip_http_metrics(create_app()),
    }


def _caller(app: Any, path: str) -> Callable[[], None]:
    from werkzeug.test import EnvironBuilder

    template = EnvironBuilder(path=path, headers={"User-Agent": "bench"}).get_environ()

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"{path} answered {status}")

    def call() -> None:
        body = app.wsgi_app(dict(template), start_response)
        for _ in body:
            pass
        body.close()

    return call


def time_loop(call: Callable[[], None], iterations: int) -> float:
    """Mean seconds per call over `iterations` calls."""
    started = time.perf_counter()
    for _ in range(iterations):
        call()
    return (time.perf_counter() - started) / iterations


def measure(apps: dict[str, Any], iterations: int, rounds: int) -> dict[str, list[float]]:
    calls = {name: _caller(app, PATH) for name, app in apps.items()}
    for call in calls.values():
        time_loop(call, max(200, iterations // 5))  # warm-up
    means: dict[str, list[float]] = {name: [] for name in apps}
    for i in range(rounds):
        for name in stats.rotation(list(apps), i):
            means[name].append(time_loop(calls[name], iterations))
    return means


def _best_us(fn: Callable[[], Any], number: int = 5000) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def breakdown(app: Any) -> dict[str, float]:
    """Best-of-5 microseconds for each step the middleware takes, inside a request."""
    from flask import Response, request

    from service.observability import metrics

    with app.test_request_context(PATH):
        response = Response(b"{}")
        child = metrics.HTTP_LATENCY.labels("GET", PATH, "2xx")
        environ = dict(request.environ)
        return {
            "route() + record() (labels + observe)": _best_us(
                lambda: metrics.record("GET", metrics.route(environ), 200, 0.001)
            ),
            "new_request_id()": _best_us(metrics.new_request_id),
            "Histogram.labels(...)": _best_us(
                lambda: metrics.HTTP_LATENCY.labels("GET", PATH, "2xx")
            ),
            "Histogram child .observe() (mmap file)": _best_us(lambda: child.observe(0.001)),
            "response.headers[...] = ...": _best_us(
                lambda: response.headers.__setitem__("X-Request-ID", "0" * 32)
            ),
            "one `request.` proxy attribute read": _best_us(lambda: request.method),
        }


def profile(apps: dict[str, Any], iterations: int, top: int) -> str:
    call = _caller(apps["instrumented"], PATH)
    time_loop(call, 200)
    profiler = cProfile.Profile()
    profiler.runcall(time_loop, call, iterations)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess")
    parser.add_argument("--iterations", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="print a cProfile instead")
    args = parser.parse_args(argv)
    apps = _build_apps()
    if args.profile:
        print(profile(apps, args.iterations, 30))
        return 0
    result = {
        "means": measure(apps, args.iterations, args.rounds),
        "breakdown": breakdown(apps["instrumented"]),
    }
    json.dump(result, sys.stdout)
    return 0


def run(workdir: Path, iterations: int, rounds: int) -> Outcome:
    """Runs this module in a fresh process with the production environment."""
    env = base_env(workdir, PROMETHEUS_MULTIPROC_DIR=str(workdir / "prom-inprocess"))
    (workdir / "prom-inprocess").mkdir(exist_ok=True)
    argv = [sys.executable, "-m", "bench.inprocess", f"--iterations={iterations}"]
    done = subprocess.run(
        [*argv, f"--rounds={rounds}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.inprocess failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout)
    return summarize(result["means"], result["breakdown"], iterations)


def summarize(means: dict[str, list[float]], steps: dict[str, float], iterations: int) -> Outcome:
    a, b = stats.median(means["instrumented"]), stats.median(means["baseline"])
    c = stats.median(means["control"])
    low, high = stats.spread(stats.pair_ratios(means["instrumented"], means["baseline"]))
    control = Row(
        "2. In-process cost (WSGI loop)",
        "A/A control: a second baseline app (noise floor)",
        f"{b * 1e6:.1f} µs",
        f"{c * 1e6:.1f} µs",
        stats.ratio(c, b),
        "-",
        None,
    )
    row = Row(
        "2. In-process cost (WSGI loop)",
        f"µs per GET /healthz, median of {len(means['baseline'])} rounds x {iterations:,}",
        f"{b * 1e6:.1f} µs",
        f"{a * 1e6:.1f} µs (+{(a - b) * 1e6:.1f} µs)",
        stats.ratio(a, b),
        "- (no network, no server: an upper bound on the relative cost)",
        None,
    )
    best_a, best_b = min(means["instrumented"]), min(means["baseline"])
    details = [
        f"Per-pair time ratio (A/B): interquartile range {low:.3f} - {high:.3f}.",
        f"Fastest round of each: {best_b * 1e6:.1f} µs vs {best_a * 1e6:.1f} µs"
        f" (+{(best_a - best_b) * 1e6:.1f} µs, ratio {best_a / best_b:.3f}); the fastest"
        " rounds are the ones the neighbours disturbed least.",
    ]
    details.append("Where the hooks' time goes (best of 5, µs per call):")
    details += [f"  - {name}: {us:.2f}" for name, us in steps.items()]
    return Outcome([row, control], details)


if __name__ == "__main__":
    sys.exit(main())
