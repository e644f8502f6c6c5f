"""The worker: an APScheduler BlockingScheduler, one wrapper around every job.

Every worker process schedules every job; the wrapper runs a leader-only job
only while this process holds the leader lease, so it runs once per tick
however many workers there are. `email-dispatch` is not leader-only: it runs
in every process, each claiming one message at a time. SIGTERM stops new
runs, lets the run in flight finish, releases the lease and exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, g

from service.extensions import db
from service.jobstate import recorder
from service.jobstate import requests as run_requests
from service.jobstate.catalogue import lease_timing
from service.timeutil import utcnow

from .leader import Leadership
from .schedule import SCHEDULE, JobSpec, find

__all__ = ["GracefulStop", "JobRunner", "build_scheduler", "lease_timing"]

log = logging.getLogger("jobs.runner")
REQUEST_POLL_SECONDS = 1.0


class JobRunner:
    """Runs jobs through the bookkeeping wrapper, under the leader lease."""

    def __init__(self, app: Flask, leadership: Leadership) -> None:
        self.app = app
        self.settings = app.config["SETTINGS"]
        self.leadership = leadership
        self._locks = {spec.id: threading.Lock() for spec in SCHEDULE}
        self.scheduler: BlockingScheduler | None = None

    def run(self, spec: JobSpec, trigger: str = "schedule") -> str:
        """Run one job now if we lead; returns success, failure or skipped."""
        lock = self._locks[spec.id]
        # A scheduled tick skips while a requested run of the same job is busy.
        if not lock.acquire(blocking=trigger != "schedule"):
            return "skipped"
        try:
            with self.app.app_context():
                g.job_trigger = trigger  # schedule, request (admin API) or cli
                return self._run_locked(spec, trigger)
        finally:
            lock.release()

    def _run_locked(self, spec: JobSpec, trigger: str) -> str:
        try:
            if spec.leader_only and not self.leadership.holds():
                return "skipped"
            ctx = recorder.RunContext(
                spec.id,
                self.leadership.holder,
                self.leadership.token,
                trigger,
                spec.ttl(self.settings),
            )
            run = recorder.started(ctx)
        except Exception as exc:  # the database is down: nothing to record into
            db.session.rollback()
            log.warning(
                "job %s not started: %s",
                spec.id,
                recorder.error_message(exc),
                extra={
                    "job": spec.id,
                    "outcome": "not_started",
                    "reason": recorder.error_reason(exc),
                },
            )
            return "skipped"
        started = time.monotonic()
        try:
            spec.func()
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            return self._record_failure(ctx, run.id, time.monotonic() - started, exc)
        duration = time.monotonic() - started
        try:
            recorder.succeeded(ctx, run.id, duration)
        except Exception as exc:
            db.session.rollback()
            log.warning("job %s: success not recorded (%s)", spec.id, recorder.error_reason(exc))
        self._log(ctx, "success", duration, None)
        return "success"

    def _record_failure(
        self, ctx: recorder.RunContext, run_id: int, duration: float, exc: Exception
    ) -> str:
        reason = recorder.error_reason(exc)
        try:
            recorder.failed(ctx, run_id, duration, exc)
        except Exception as record_exc:
            db.session.rollback()
            log.warning(
                "job %s: failure not recorded (%s)", ctx.job, recorder.error_reason(record_exc)
            )
        self._log(ctx, "failure", duration, reason, exc)
        return "failure"

    @staticmethod
    def _log(
        ctx: recorder.RunContext,
        outcome: str,
        duration: float,
        reason: str | None,
        exc: BaseException | None = None,
    ) -> None:
        fields = {
            "job": ctx.job,
            "outcome": outcome,
            "duration_ms": round(duration * 1000, 1),
            "reason": reason,
            "trigger": ctx.trigger,
            "fencing_token": ctx.fencing_token,
        }
        if exc is None:
            log.info("job %s %s in %.1fms", ctx.job, outcome, duration * 1000, extra=fields)
        else:
            log.error(
                "job %s %s in %.1fms: %s",
                ctx.job,
                outcome,
                duration * 1000,
                recorder.error_message(exc),
                extra=fields,
                exc_info=exc,
            )

    def refresh_lease(self) -> None:
        with self.app.app_context():
            was_leader = self.leadership.token is not None
            try:
                leader = self.leadership.refresh()
            except Exception as exc:
                db.session.rollback()
                log.warning("leader lease not refreshed: %s", recorder.error_reason(exc))
                return
            if leader != was_leader:
                log.info(
                    "leadership %s (fencing token %s)",
                    "acquired" if leader else "lost",
                    self.leadership.token,
                    extra={"leader": leader, "holder": self.leadership.holder},
                )
            if leader and not was_leader:
                self._catch_up()

    def _catch_up(self) -> None:
        """A new leader runs every job once now rather than at its next tick
        (an hourly job would otherwise look missing for up to an hour)."""
        if self.scheduler is None or not self.scheduler.running:
            return
        for spec in SCHEDULE:
            job = self.scheduler.get_job(spec.id)
            if job is not None:
                job.modify(next_run_time=utcnow())

    def serve_requests(self) -> None:
        """Run jobs an operator asked for (admin API / CLI), if we lead."""
        with self.app.app_context():
            try:
                if not self.leadership.holds():
                    return
                claimed = run_requests.claim_pending(self.leadership.holder)
            except Exception as exc:
                db.session.rollback()
                log.warning("run requests not read: %s", recorder.error_reason(exc))
                return
            pending = [(req.id, req.job) for req in claimed]
        for request_id, job in pending:
            spec = find(job)
            outcome = self.run(spec, trigger="request") if spec else "unknown_job"
            with self.app.app_context():
                run_requests.finish(request_id, outcome)


def build_scheduler(runner: JobRunner) -> BlockingScheduler:
    settings = runner.settings
    _, refresh_every = lease_timing(settings)
    scheduler = BlockingScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=len(SCHEDULE) + 2)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone="UTC",
    )
    runner.scheduler = scheduler
    now = utcnow()
    scheduler.add_job(
        runner.refresh_lease,
        "interval",
        seconds=refresh_every,
        id="leader-lease",
        replace_existing=True,
        misfire_grace_time=None,
    )
    scheduler.add_job(
        runner.serve_requests,
        "interval",
        seconds=REQUEST_POLL_SECONDS,
        id="run-requests",
        replace_existing=True,
        misfire_grace_time=None,
    )
    for spec in SCHEDULE:
        scheduler.add_job(
            runner.run,
            "interval",
            seconds=spec.interval(settings),
            args=[spec],
            id=spec.id,
            name=spec.id,
            next_run_time=now,
            replace_existing=True,
            misfire_grace_time=None,
        )
    # Try for the lease before the first tick, so a lone worker's first
    # runs are not skipped.
    runner.refresh_lease()
    return scheduler


class GracefulStop:
    """SIGTERM/SIGINT: no new runs, finish those in flight, then let main() exit.

    The signal handler itself only hands the work to a thread: it runs on
    the main thread at an arbitrary point, possibly while that thread holds
    one of the scheduler's locks that a finishing job needs, so waiting there
    could deadlock. A signal that arrives before the scheduler runs is acted
    on the moment it starts. `wait()` returns once runs in flight are over,
    so the lease is released only after them.
    """

    def __init__(self, scheduler: BlockingScheduler) -> None:
        self.scheduler = scheduler
        self.requested = threading.Event()
        self.finished = threading.Event()
        self._lock = threading.Lock()
        self._done = False

    def install(self) -> None:
        self.scheduler.add_listener(self._on_started, EVENT_SCHEDULER_STARTED)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def wait(self) -> None:
        if self.requested.is_set():
            self.finished.wait()

    def _shutdown_once(self, wait: bool) -> None:
        with self._lock:
            if self._done or not self.scheduler.running:
                return
            self._done = True
        self.scheduler.shutdown(wait=wait)

    def _on_started(self, _event: Any) -> None:
        if self.requested.is_set():
            self._shutdown_once(wait=False)  # nothing is in flight yet

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if self.requested.is_set():
            return
        self.requested.set()
        name = signal.Signals(signum).name
        threading.Thread(target=self._stop, args=(name,), name="worker-stop", daemon=True).start()

    def _stop(self, name: str) -> None:
        try:
            log.info("received %s: finishing the job in flight, then exiting", name)
            self._shutdown_once(wait=True)
        finally:
            self.finished.set()
