"""Admin routes for the circuit breakers (blueprint `circuits_admin`, under /v1/admin)."""

from __future__ import annotations

from flask import Response, jsonify

from ..admin import admin_blueprint
from ..errors import ApiError
from . import breaker

admin = admin_blueprint("circuits_admin", __name__)


@admin.get("/circuits")
def list_circuits() -> Response:
    return jsonify({"circuits": [breaker.describe(c) for c in breaker.all_circuits()]})


@admin.post("/circuits/<name>/reset")
def reset_circuit(name: str) -> Response:
    if name not in breaker.CIRCUITS:
        raise ApiError(404, "unknown_circuit", f"No circuit named {name!r}.")
    return jsonify(breaker.describe(breaker.reset(name)))
