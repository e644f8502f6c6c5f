"""The worker's entry point (`python jobs_main.py`).

With no arguments it starts the worker: app context, leader lease,
scheduler, clean exit on SIGTERM. `python jobs_main.py run NAME [--wait S]`
runs one job once from a shell instead (see jobs/cli.py).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from flask import Flask

from service import create_app_or_exit

from .cli import run_once
from .leader import Leadership
from .runner import GracefulStop, JobRunner, build_scheduler, lease_timing

log = logging.getLogger("jobs.main")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jobs_main.py", description="The scheduler worker; with `run NAME`, one job once."
    )
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("run", help="run one job once (through the leader lease)")
    run.add_argument("name", help="job id, e.g. email-dlq")
    run.add_argument(
        "--wait",
        dest="wait_seconds",
        type=float,
        default=60.0,
        help="how long to wait for a running worker's leader to do it (default 60)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    app = create_app_or_exit()
    if args.command == "run":
        return run_once(app, args.name, args.wait_seconds)
    return serve(app)


def serve(app: Flask) -> int:
    """Run the scheduler until SIGTERM/SIGINT; exit 0 after a clean stop."""
    settings = app.config["SETTINGS"]
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # we log each run ourselves
    lease_seconds, _ = lease_timing(settings)
    runner = JobRunner(app, Leadership(lease_seconds))
    scheduler = build_scheduler(runner)
    stop = GracefulStop(scheduler)
    stop.install()
    log.info(
        "worker starting",
        extra={
            "holder": runner.leadership.holder,
            "version": settings.build_version,
            "commit": settings.build_commit,
        },
    )
    scheduler.start()  # blocks until SIGTERM/SIGINT
    stop.wait()  # runs in flight end before the lease is released
    with app.app_context():
        try:
            runner.leadership.release()
        except Exception as exc:  # the next leader will take over at expiry
            log.warning("lease not released: %s", type(exc).__name__)
    log.info("worker stopped")
    return 0
