"""`flask circuits list` and `flask circuits reset NAME`."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from . import breaker

circuits_cli = AppGroup("circuits", help="Inspect and force-close circuit breakers.")


@circuits_cli.command("list")
def list_command() -> None:
    """Every breaker's state (JSON)."""
    circuits = [breaker.describe(c) for c in breaker.all_circuits()]
    click.echo(json.dumps({"circuits": circuits}, indent=2))


@circuits_cli.command("reset")
@click.argument("name", type=click.Choice(breaker.CIRCUITS))
def reset_command(name: str) -> None:
    """Force breaker NAME closed."""
    circuit = breaker.reset(name)
    click.echo(f"{circuit.name}: {circuit.state}")
