"""Plumbing shared by the tests: ports, Procfile lines, real processes, scrapes."""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from devkit.processes import child_pids, free_port, procfile_command, stop_group

__all__ = ["child_pids", "free_port", "procfile_command"]  # shared with bench/ (devkit/)

ROOT = Path(__file__).resolve().parent.parent
SPEC_VARIABLES = (
    "APP_ENV",
    "DATABASE_URL",
    "PORT",
    "METRICS_TOKEN",
    "ADMIN_TOKEN",
    "ADMIN_READONLY_TOKEN",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_WEBHOOK_TOLERANCE_SECONDS",
    "STRIPE_API_KEY",
    "STRIPE_API_BASE",
    "EMAIL_BACKEND",
    "SMTP_URL",
    "SENDGRID_API_KEY",
    "SENDGRID_API_BASE",
    "EMAIL_FROM",
    "EMAIL_MAX_ATTEMPTS",
    "EMAIL_CLAIM_SECONDS",
    "JOB_HEARTBEAT_TTL_SECONDS",
    "JOB_HEARTBEAT_INTERVAL_SECONDS",
    "EMAIL_DISPATCH_INTERVAL_SECONDS",
    "EMAIL_DLQ_INTERVAL_SECONDS",
    "EMAIL_RETRY_BASE_SECONDS",
    "EMAIL_RETRY_MAX_SECONDS",
    "CIRCUIT_FAILURE_THRESHOLD",
    "CIRCUIT_RESET_SECONDS",
    "PROBE_CACHE_SECONDS",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "PROMETHEUS_MULTIPROC_DIR",
    "WEB_CONCURRENCY",
    "DYNO",
    "EMAIL_CONCURRENCY",
    "EMAIL_RATE_LIMIT_PER_SECOND",
    "SENDGRID_WEBHOOK_PUBLIC_KEY",
    "EMAIL_RECEIPT_VALID_DAYS",
    "WEB_THREADS",
)


def process_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SPEC_VARIABLES}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    # Tests read /readyz and /metrics right after changing what they report;
    # the probe cache is covered by its own test (tests/observability).
    env["PROBE_CACHE_SECONDS"] = "0"
    env.update(overrides)
    return env


class Proc:
    """A process started from a Procfile line, its output captured to a file."""

    def __init__(self, process_type: str, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 (closed in stop())
        self.popen = subprocess.Popen(
            ["bash", "-c", f"exec {procfile_command(process_type)}"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.popen.pid, signum)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def stop(self, timeout: float = 15) -> int | None:
        returncode = stop_group(self.popen, timeout)
        if not self._log.closed:
            self._log.close()
        return returncode


@contextlib.contextmanager
def running(process_type: str, env: dict[str, str], log_path: Path) -> Iterator[Proc]:
    proc = Proc(process_type, env, log_path)
    try:
        yield proc
    finally:
        proc.stop()


def wait_until(predicate, timeout: float, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")


def wait_for_http(url: str, timeout: float = 20, proc: Proc | None = None) -> None:
    def up() -> bool:
        if proc is not None and proc.popen.poll() is not None:
            raise AssertionError(f"process exited early:\n{proc.output()[-4000:]}")
        try:
            return requests.get(url, timeout=1).status_code < 500
        except requests.RequestException:
            return False

    wait_until(up, timeout, message=url)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text -> {(sample name, sorted labels): value}, via the real parser."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def sample_value(text: str, name: str, **labels: str) -> float | None:
    wanted = tuple(sorted(labels.items()))
    return samples(text).get((name, wanted))


def sample_sum(text: str, name: str, **labels: str) -> float:
    """The sum of `name` over every sample carrying `labels` (any other labels,
    such as `dyno`, summed over): the fleet-wide value of an HTTP series."""
    wanted = set(labels.items())
    return sum(v for (n, lb), v in samples(text).items() if n == name and wanted <= set(lb))


def label_values(text: str, name: str, label: str) -> set[str]:
    return {dict(k[1]).get(label) for k in samples(text) if k[0] == name} - {None}


def promtool_check(text: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )


def shell_quote(value: str) -> str:
    return shlex.quote(value)


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never says a word: a hung
    database or mail server."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()
