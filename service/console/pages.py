"""Console pages: sign-in, overview, jobs, circuits, audit, runbook."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ..audit import trail
from ..circuits import breaker
from ..email import dlq
from ..jobstate import requests as run_requests
from ..jobstate.status import job_statuses, leader
from ..observability.views import readiness_report
from ..timeutil import utcnow
from ..webhooks import listing
from . import runbook, session
from .actions import act
from .blueprint import console

# The alert each overview panel relates to, and its runbook section.
ALERTS = {
    "readiness": ("JobHeartbeatStale", "first-response-checklist"),
    "jobs": ("JobHeartbeatStale, JobNoRecentSuccess, JobErrorsSpike", "job-runner-health"),
    "circuits": ("CircuitStuckOpen", "circuitstuckopen"),
    "dead_letters": (
        "EmailDeadLettersGrowing, EmailDLQPendingGrowing",
        "email-delivery-and-the-dead-letter-queue",
    ),
    "webhooks": ("WebhookErrorsSustained", "webhookerrorssustained"),
}


def _safe_next(target: str | None) -> str:
    # Only a path inside the console: never an open redirect.
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return url_for("console.overview")


@console.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    if request.method == "GET":
        if session.current_role() is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("console/sign_in.html", next=request.args.get("next", ""))
    if session.rate_limited():
        message = "Too many failed sign-ins from this address; wait a minute."
        return render_template("console/sign_in.html", error=message, next=""), 429
    if session.sign_in(request.form.get("token", "")) is None:
        message = "That token is neither the admin nor the read-only token."
        return render_template("console/sign_in.html", error=message, next=""), 401
    return redirect(_safe_next(request.form.get("next")), 303)


@console.post("/sign-out")
def sign_out() -> BaseResponse:
    session.sign_out()
    return redirect(url_for("console.sign_in"), 303)


@console.get("/")
def overview() -> str:
    ready, status = readiness_report()
    return render_template(
        "console/overview.html",
        ready=ready,
        ready_status=status,
        jobs=job_statuses(),
        leader=leader(),
        circuits=[breaker.describe(c) for c in breaker.all_circuits()],
        dlq_counts=dlq.counts(),
        by_template=dlq.counts_by_template(),
        webhooks=listing.results_since(utcnow() - timedelta(hours=1)),
        alerts=ALERTS,
    )


@console.get("/jobs")
def jobs() -> str:
    return render_template("console/jobs.html", jobs=job_statuses(), leader=leader())


@console.post("/jobs/<name>/run")
def run_job(name: str) -> BaseResponse:
    done = f"Asked the worker's leader to run {name} now."
    act("jobs.run", name, lambda: run_requests.request_known(name), done, status=202)
    return redirect(url_for("console.jobs"), 303)


@console.get("/circuits")
def circuits() -> str:
    views = [breaker.describe(c) for c in breaker.all_circuits()]
    return render_template("console/circuits.html", circuits=views)


@console.post("/circuits/<name>/reset")
def reset_circuit(name: str) -> BaseResponse:
    act("circuits.reset", name, lambda: breaker.reset_known(name), f"Circuit {name} forced closed.")
    return redirect(url_for("console.circuits"), 303)


@console.get("/audit")
def audit() -> str:
    rows, cursor = trail.page(request.args.get("limit"), request.args.get("cursor") or None)
    return render_template(
        "console/audit.html", entries=[trail.summary(r) for r in rows], next_cursor=cursor
    )


@console.get("/runbook")
def runbook_page() -> str:
    return render_template("console/runbook.html", sections=runbook.sections())
