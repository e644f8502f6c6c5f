"""Circuit breakers whose state lives in the database, shared by every process."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Flask
from prometheus_client.core import GaugeMetricFamily

from ..observability.registry import add_provider


def metric_families() -> Iterator[GaugeMetricFamily]:
    from .breaker import all_circuits

    gauge = GaugeMetricFamily(
        "circuit_state",
        "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
        labels=["circuit"],
    )
    for circuit in all_circuits():
        gauge.add_metric([circuit.name], circuit.value)
    yield gauge


def init_app(app: Flask) -> None:
    from . import cli, views

    app.register_blueprint(views.admin)
    app.cli.add_command(cli.circuits_cli)
    add_provider(app, metric_families)
