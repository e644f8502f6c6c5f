"""Admin routes for the circuit breakers (blueprint `circuits_admin`, under /v1/admin)."""

from __future__ import annotations

from flask import Response, jsonify

from ..admin import admin_blueprint, audited
from . import breaker

admin = admin_blueprint("circuits_admin", __name__)


@admin.get("/circuits")
def list_circuits() -> Response:
    return jsonify({"circuits": [breaker.describe(c) for c in breaker.all_circuits()]})


@admin.post("/circuits/<name>/reset")
@audited("circuits.reset", target="name")
def reset_circuit(name: str) -> Response:
    return jsonify(breaker.describe(breaker.reset_known(name)))
