"""Real Gunicorn processes for the benchmarks, started from the Procfile's `web` line.

The command is the Procfile's own (same gunicorn.conf.py, same flags) with
the app swapped for the one under test and the bind narrowed to loopback.
Each server gets its own Prometheus multiprocess directory; all share one
migrated SQLite database in the run's temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from devkit.processes import child_pids, free_port, procfile_argv

ROOT = Path(__file__).resolve().parent.parent
# Throwaway tokens for loopback-only servers that live for one run.
METRICS_TOKEN = "bench-metrics-token-3c9e1a-0123456789abcdef"  # noqa: S105
ADMIN_TOKEN = "bench-admin-token-b04d27-0123456789abcdef"  # noqa: S105
# The service's variables (README's configuration table) and Gunicorn's:
# a developer's shell must not leak in.
_CLEARED_PREFIXES = (
    "APP_",
    "DATABASE_",
    "METRICS_",
    "ADMIN_",
    "STRIPE_",
    "EMAIL_",
    "SMTP_",
    "SENDGRID_",
    "JOB_",
    "CIRCUIT_",
    "GUNICORN_",
)
_CLEARED = ("PORT", "PROMETHEUS_MULTIPROC_DIR", "WEB_CONCURRENCY", "LOG_LEVEL", "LOG_FORMAT")


def web_argv(app_spec: str, port: int) -> list[str]:
    """The Procfile's web command, serving `app_spec` on 127.0.0.1:`port`."""
    argv = procfile_argv("web")
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    argv[-1] = app_spec
    return argv


def base_env(workdir: Path, **overrides: str) -> dict[str, str]:
    """A production dyno's environment, on SQLite in `workdir`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_CLEARED_PREFIXES) and k not in _CLEARED
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        APP_ENV="production",
        DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
        METRICS_TOKEN=METRICS_TOKEN,
        ADMIN_TOKEN=ADMIN_TOKEN,
        EMAIL_BACKEND="smtp",
        SMTP_URL="smtp://127.0.0.1:2525",  # never dialled by the web tier
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def migrate(workdir: Path) -> None:
    """The Procfile's `release` step against the run's database."""
    done = subprocess.run(
        procfile_argv("release"),
        cwd=ROOT,
        env=base_env(workdir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"release step failed ({done.returncode}):\n{done.stderr[-3000:]}")


class Server:
    """One Gunicorn master and its workers, output captured to a log file."""

    def __init__(self, name: str, app_spec: str, workdir: Path, workers: int, **env: str) -> None:
        self.name = name
        self.port = free_port()
        self.prom_dir = workdir / f"prom-{name}"
        self.log_path = workdir / f"{name}.log"
        env = base_env(
            workdir,
            PORT=str(self.port),
            WEB_CONCURRENCY=str(workers),
            PROMETHEUS_MULTIPROC_DIR=str(self.prom_dir),
            **env,
        )
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.popen = subprocess.Popen(
            web_argv(app_spec, self.port),
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers = workers

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.tail()}")
            if len(self.worker_pids()) == self.workers and self._answers():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{self.tail()}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        return sorted(child_pids(self.popen.pid))

    def tail(self, chars: int = 3000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self, timeout: float = 15) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        # Whatever the group left behind (workers of a master that hung).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        self._log.close()


@contextlib.contextmanager
def serving(name: str, app_spec: str, workdir: Path, workers: int, **env: str) -> Iterator[Server]:
    server = Server(name, app_spec, workdir, workers, **env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
