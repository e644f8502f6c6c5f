"""Fixtures that start the service's real processes from the Procfile."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import Proc, free_port, process_env, running, wait_for_http

METRICS_TOKEN = "e2e-metrics-token-5f2a9c-0123456789abcdef"
ADMIN_TOKEN = "e2e-admin-token-77d1e0-0123456789abcdef"
# Credentials every e2e process gets; none may appear in anything a process
# writes (checked when each process is stopped, see no_secrets).
SMTP_PASSWORD = "e2e-smtp-password-0c41d9b7a2"
STRIPE_API_KEY = "sk_test_e2e0b7c1d94f2a6e5c8b3a1f0d2e4c6"
SENDGRID_API_KEY = "SG.e2e-sendgrid-key.7f3a9c1e5b2d4f6a8c0e"
SECRETS = (METRICS_TOKEN, ADMIN_TOKEN, SMTP_PASSWORD, STRIPE_API_KEY, SENDGRID_API_KEY)


def no_secrets(procs: list[Proc]) -> None:
    for proc in procs:
        output = proc.output()
        leaked = [secret[:6] + "..." for secret in SECRETS if secret in output]
        assert not leaked, f"{proc.log_path.name} wrote secrets: {leaked}"


@pytest.fixture
def production_env(migrated: str, tmp_path: Path) -> dict[str, str]:
    """The service's variables (README's configuration table) as an operator
    would set them for a production dyno."""
    return process_env(
        APP_ENV="production",
        DATABASE_URL=migrated,
        METRICS_TOKEN=METRICS_TOKEN,
        ADMIN_TOKEN=ADMIN_TOKEN,
        EMAIL_BACKEND="smtp",
        SMTP_URL=f"smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:{free_port()}",
        STRIPE_API_KEY=STRIPE_API_KEY,
        STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}",  # nothing listens: loopback only
        SENDGRID_API_KEY=SENDGRID_API_KEY,
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"),
    )


@pytest.fixture
def start_web(
    production_env: dict[str, str], tmp_path: Path, make_app
) -> Iterator[Callable[..., tuple[Proc, str]]]:
    make_app()  # rows written by the processes are deleted after the test
    started: list = []

    def start(workers: int = 3, **overrides: str | None) -> tuple[Proc, str]:
        port = free_port()
        env = {**production_env, "PORT": str(port), "WEB_CONCURRENCY": str(workers), **overrides}
        env = {name: value for name, value in env.items() if value is not None}  # None: unset
        ctx = running("web", env, tmp_path / f"web-{port}.log")
        proc = ctx.__enter__()
        started.append((ctx, proc))
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz", proc=proc)
        return proc, base

    yield start
    for ctx, _ in reversed(started):
        ctx.__exit__(None, None, None)
    no_secrets([proc for _, proc in started])


def json_lines(output: str) -> list[dict]:
    """Every line must be one JSON object; returns them parsed."""
    records = []
    for line in output.splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"not a JSON log line: {line!r}") from None
    return records


@pytest.fixture
def start_worker(
    production_env: dict[str, str], tmp_path: Path, make_app
) -> Iterator[Callable[..., Proc]]:
    """Start `worker` processes from the Procfile; stopped (SIGTERM) after the test."""
    make_app()
    started: list = []

    def start(**overrides: str) -> Proc:
        env = {**production_env, "JOB_HEARTBEAT_TTL_SECONDS": "4", **overrides}
        ctx = running("worker", env, tmp_path / f"worker-{len(started)}.log")
        proc = ctx.__enter__()
        started.append((ctx, proc))
        return proc

    yield start
    for ctx, _ in reversed(started):
        ctx.__exit__(None, None, None)
    no_secrets([proc for _, proc in started])
