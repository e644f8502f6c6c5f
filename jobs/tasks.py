"""One small function per job; each calls domain logic in `service/`.

They run inside an app context, through `jobs.runner.JobRunner.run`, which
records heartbeat, success, duration and errors around them.
"""

from __future__ import annotations

import logging

from flask import current_app, g

from service.email import dispatch, outbox

from .retention import prune_all

log = logging.getLogger(__name__)


def runner_heartbeat() -> None:
    """The runner's own heartbeat: the wrapper's bookkeeping is the whole job.

    It runs on the scheduler's executor like every other job, so a wedged
    scheduler stops beating even while its process is alive.
    """


def _log_tally(job: str, tally: dict[str, int]) -> None:
    # A run that only found the breaker open says so at DEBUG: it would
    # otherwise log every few seconds for the whole outage.
    level = logging.INFO if set(tally) - {"circuit_open"} else logging.DEBUG
    log.log(level, "%s: %s", job, tally or "nothing due", extra={"tally": tally})


def email_dispatch() -> None:
    _log_tally("email-dispatch", dispatch.dispatch_queued())


def email_dlq() -> None:
    # An operator's rerun (admin API or CLI) is the runbook's "fixed the
    # credentials, now drain it": every pending letter is due now, not at
    # its backoff. Scheduled ticks respect the backoff.
    if g.get("job_trigger", "schedule") != "schedule":
        outbox.wake_pending()
    _log_tally("email-dlq", dispatch.retry_pending())


def retention() -> None:
    settings = current_app.config["SETTINGS"]
    pruned = prune_all(settings.retention_days, settings.audit_retention_days)
    log.info("retention pruned %s", pruned, extra={"pruned": pruned})
