"""Start the worker: app context, leader lease, scheduler, clean exit on SIGTERM."""

from __future__ import annotations

import logging

from service import create_app_or_exit

from .leader import Leadership
from .runner import GracefulStop, JobRunner, build_scheduler, lease_timing

log = logging.getLogger("jobs.main")


def main() -> int:
    app = create_app_or_exit()
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
