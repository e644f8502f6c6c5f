"""Admin routes for jobs: status, and 'run this job now'."""

from __future__ import annotations

from flask import Response, jsonify, url_for

from ..admin import admin_blueprint, audited
from . import requests as run_requests
from .status import job_statuses, leader

admin = admin_blueprint("jobs_admin", __name__)


@admin.get("/jobs/status")
def jobs_status() -> Response:
    return jsonify({"jobs": job_statuses(), "leader": leader()})


@admin.post("/jobs/<name>/run")
@audited("jobs.run", target="name")
def run_job(name: str) -> tuple[Response, int]:
    req = run_requests.request_known(name)
    body = {
        "job": name,
        "request_id": req.id,
        "status": "requested",
        "status_url": url_for("jobs_admin.jobs_status"),
    }
    return jsonify(body), 202
