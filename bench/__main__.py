"""`make bench`: run every benchmark, print the table, write docs/PERFORMANCE.md.

Each benchmark is one entry in BENCHES: a key for `--only`, a title, and
`run(ctx) -> Outcome` (rows with ratios against a baseline measured in the
same run). A new benchmark module plugs in by adding its entry here.
`--quick` runs every benchmark at a size fit for a CI smoke test.

Exits 3 when a target is missed (after writing the report), 0 otherwise; a
benchmark that could not run ends the process with a traceback (exit 1).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import (
    console,
    email_dispatch,
    health,
    healthz,
    ingest,
    loadgen,
    memory,
    peer,
    pg,
    recycling,
    report,
    scrape,
    server,
    webhook_counters,
)
from .results import Outcome

TARGET_MISSED = 3


@dataclass(frozen=True)
class Bench:
    key: str
    title: str
    run: Callable[[server.RunContext], Outcome]
    quick: bool = True  # False: too big to shrink; `--quick` leaves it out


BENCHES = [
    Bench("ingest", "1. Webhook ingest", ingest.run),
    # Its own databases and worker processes; the run's directory for logs.
    Bench("email", email_dispatch.TITLE, lambda ctx: email_dispatch.run(ctx.workdir, ctx.quick)),
    Bench("health", "3. Health under load", health.run),
    Bench("healthz", "4. Full request path (GET /healthz)", healthz.run),
    Bench("peer", "5. Peer: prometheus-flask-exporter", peer.run),
    Bench("memory", "6. Memory", memory.run),
    Bench("scrape", "7. /metrics scrape cost", scrape.run),
    Bench(
        "webhook_counters",
        "8. Fleet-wide webhook counters: cost per delivery",
        lambda ctx: webhook_counters.run(
            ctx.workdir, 3 if ctx.quick else 11, 50 if ctx.quick else 300
        ),
    ),
    Bench(
        "recycling",
        "9. /metrics after worker recycles: folded vs stock collector",
        lambda ctx: recycling.run(ctx.workdir, 2 if ctx.quick else 7),
    ),
    Bench(
        "console",
        "10. Console pages at 100,000 dead letters (PostgreSQL)",
        lambda ctx: console.run(ctx.workdir),
        quick=False,
    ),
]


def parse_args(argv: list[str]) -> argparse.Namespace:
    keys = [b.key for b in BENCHES]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=",".join(keys), help="comma-separated subset")
    parser.add_argument("--quick", action="store_true", help="small sizes: a CI smoke test")
    parser.add_argument("--out", default=None, help="report path (default docs/PERFORMANCE.md)")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(keys)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    if args.out is None and not args.quick:
        args.out = str(server.ROOT / "docs" / "PERFORMANCE.md")
    return args


def pick_loadgen(choice: str) -> str | None:
    """Path to wrk, or None for the Python generator."""
    if choice == "python":
        return None
    wrk = loadgen.ensure_wrk()
    if wrk is None and choice == "wrk":
        sys.exit("wrk is not installed and could not be installed")
    return wrk


def run_all(args: argparse.Namespace, wrk: str | None) -> tuple[list[Bench], list[Outcome]]:
    chosen = [b for b in BENCHES if b.key in args.only and (b.quick or not args.quick)]
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, pg.scratch_database() as url:
        server.migrate(url)
        ctx = server.RunContext(Path(tmp), url, wrk, args.quick)
        server.use_run(ctx)  # for modules that pass only the directory
        for bench in chosen:
            print(f"== {bench.title}", flush=True)
            started = time.monotonic()
            outcomes.append(bench.run(ctx))
            print(f"   done in {time.monotonic() - started:.0f} s", flush=True)
    return chosen, outcomes


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    started, load_before = time.monotonic(), os.getloadavg()
    wrk = pick_loadgen(args.loadgen)
    chosen, outcomes = run_all(args, wrk)
    tool = f"wrk ({wrk})" if wrk else "Python http.client processes"
    facts = report.machine_facts(tool, load_before)
    command = "make bench" if not argv else f"python -m bench {' '.join(argv)}"
    text = report.render(
        outcomes, command, facts, time.monotonic() - started, [b.title for b in chosen]
    )
    print("\n".join(report.table(outcomes)))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        print(f"\nwritten to {args.out}")
    missed = [r for o in outcomes for r in o.rows if r.passed is False]
    return TARGET_MISSED if missed else 0


if __name__ == "__main__":
    sys.exit(main())
