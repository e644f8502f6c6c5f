"""`make bench`: run every benchmark, print the table, write docs/PERFORMANCE.md.

Exits 1 when a target is missed (after writing the report), 0 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from . import email_dispatch, http_overhead, inprocess, loadgen, memory, report, scrape, server
from .results import Outcome

BENCHMARKS = ("http", "inprocess", "scrape", "memory", "email")
TITLES = {
    "http": "1. HTTP instrumentation overhead",
    "inprocess": "2. In-process per-request cost",
    "scrape": "3. /metrics scrape cost",
    "memory": "4. Worker memory",
    "email": email_dispatch.TITLE,
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset")
    parser.add_argument("--out", default=str(server.ROOT / "docs" / "PERFORMANCE.md"))
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--epochs", type=int, default=4, help="fresh servers, benchmark 1")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per epoch, benchmark 1")
    parser.add_argument("--seconds", type=float, default=2, help="length of one HTTP round")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="Gunicorn workers, benchmark 1")
    parser.add_argument("--inprocess-rounds", type=int, default=18, help="rounds, benchmark 2")
    parser.add_argument("--iterations", type=int, default=1500, help="calls per round, 2")
    parser.add_argument("--routes", type=int, default=25, help="x 5 methods x 4 classes, 3")
    parser.add_argument("--scrapes", type=int, default=7)
    # VmRSS is no timing: two rounds agreed within 0.1%, so one is enough.
    parser.add_argument("--memory-rounds", type=int, default=1)
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return args


def pick_loadgen(choice: str) -> str | None:
    """Path to wrk, or None for the Python generator."""
    if choice == "python":
        return None
    wrk = loadgen.ensure_wrk()
    if wrk is None and choice == "wrk":
        sys.exit("wrk is not installed and could not be installed")
    return wrk


def plan(args: argparse.Namespace, workdir: Path, wrk: str | None) -> dict[str, Callable]:
    return {
        "http": lambda: http_overhead.run(
            workdir, wrk, args.workers, args.epochs, args.rounds, args.seconds, args.connections
        ),
        "inprocess": lambda: inprocess.run(workdir, args.iterations, args.inprocess_rounds),
        "scrape": lambda: scrape.run(workdir, args.routes, 3, args.scrapes),
        "memory": lambda: memory.run(workdir, args.memory_rounds),
        "email": lambda: email_dispatch.run(workdir),
    }


def run_all(args: argparse.Namespace, wrk: str | None) -> list[Outcome]:
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        server.migrate(workdir)
        steps = plan(args, workdir, wrk)
        for name in args.only:
            print(f"== {TITLES[name]}", flush=True)
            started = time.monotonic()
            outcomes.append(steps[name]())
            print(f"   done in {time.monotonic() - started:.0f} s", flush=True)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    started, load_before = time.monotonic(), os.getloadavg()
    wrk = pick_loadgen(args.loadgen) if "http" in args.only else None
    outcomes = run_all(args, wrk)
    tool = f"wrk ({wrk})" if wrk else "Python http.client processes"
    facts = report.machine_facts(tool, load_before)
    command = "make bench" if not argv else f"python -m bench {' '.join(argv)}"
    text = report.render(
        outcomes, command, facts, time.monotonic() - started, [TITLES[n] for n in args.only]
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print("\n".join(report.table(outcomes)))
    print(f"\nwritten to {args.out}")
    missed = [r for o in outcomes for r in o.rows if r.passed is False]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
