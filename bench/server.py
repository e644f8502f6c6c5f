"""Real Gunicorn processes for the benchmarks, started from the Procfile's `web` line.

The command is the Procfile's own (same gunicorn.conf.py, same flags) with
the app swapped for the one under test and the bind narrowed to loopback.
A baseline may swap the config file too (`bench/apps/gunicorn_bare.py`
keeps the production worker settings and drops the logging). Each server
gets its own Prometheus multiprocess directory; all share the run's
migrated PostgreSQL database.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devkit.processes import child_pids, free_port, procfile_argv, stop_group

from .events import SECRET

ROOT = Path(__file__).resolve().parent.parent
BARE_CONFIG = "bench/apps/gunicorn_bare.py"
LOGGED_CONFIG = "bench/apps/gunicorn_logged.py"
# Throwaway tokens for loopback-only servers that live for one run.
METRICS_TOKEN = "bench-metrics-token-3c9e1a7f0b2d4e6a8c1f"  # noqa: S105
ADMIN_TOKEN = "bench-admin-token-b04d27e9c3a5f1d8b6e2a4c7"  # noqa: S105
ADMIN_READONLY_TOKEN = "bench-readonly-token-61f0a9c2e4b7d3a8f5c1"  # noqa: S105


@dataclass(frozen=True)
class RunContext:
    """What every benchmark of one run shares."""

    workdir: Path
    database_url: str
    wrk: str | None  # path to wrk, or None: the Python load generator
    quick: bool


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


def web_argv(app_spec: str, port: int, config: str | None = None) -> list[str]:
    """The Procfile's web command, serving `app_spec` on 127.0.0.1:`port`."""
    argv = procfile_argv("web")
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    if config is not None:
        argv[argv.index("--config") + 1] = config
    argv[-1] = app_spec
    return argv


_current: list[RunContext] = []


def use_run(ctx: RunContext) -> None:
    """The run that `base_env(workdir)` and `Server(..., workdir, ...)` refer to."""
    _current[:] = [ctx]


def as_run(run: RunContext | Path) -> RunContext:
    """A module that passes only the run's directory gets the current run."""
    if isinstance(run, RunContext):
        return run
    if not _current:
        raise RuntimeError("no bench run in progress (python -m bench sets one)")
    return RunContext(Path(run), _current[0].database_url, _current[0].wrk, _current[0].quick)


def base_env(database_url: str | Path, **overrides: str) -> dict[str, str]:
    """A production dyno's environment, on the run's database (a directory
    given instead of a URL means the current run's database)."""
    if isinstance(database_url, Path):
        database_url = as_run(database_url).database_url
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_CLEARED_PREFIXES) and k not in _CLEARED
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        APP_ENV="production",
        DATABASE_URL=database_url,
        METRICS_TOKEN=METRICS_TOKEN,
        ADMIN_TOKEN=ADMIN_TOKEN,
        ADMIN_READONLY_TOKEN=ADMIN_READONLY_TOKEN,
        STRIPE_WEBHOOK_SECRET=SECRET,
        EMAIL_BACKEND="smtp",
        SMTP_URL="smtp://127.0.0.1:2525",  # never dialled by the web tier
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def migrate(database_url: str) -> None:
    """The Procfile's `release` step against the run's database."""
    done = subprocess.run(
        procfile_argv("release"),
        cwd=ROOT,
        env=base_env(database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"release step failed ({done.returncode}):\n{done.stderr[-3000:]}")


class Server:
    """One Gunicorn master and its workers, output captured to a log file."""

    def __init__(
        self,
        name: str,
        app_spec: str,
        run: RunContext | Path,
        workers: int = 2,
        config: str | None = None,
        **env: str,
    ) -> None:
        run = as_run(run)
        self.name = name
        self.port = free_port()
        self.prom_dir = run.workdir / f"prom-{name}"
        self.log_path = run.workdir / f"{name}.log"
        env = base_env(
            run.database_url,
            PORT=str(self.port),
            DYNO=f"web.{name}",  # each server is a dyno of its own in the fleet's families
            WEB_CONCURRENCY=str(workers),
            PROMETHEUS_MULTIPROC_DIR=str(self.prom_dir),
            **env,
        )
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.popen = subprocess.Popen(
            web_argv(app_spec, self.port, config),
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
        stop_group(self.popen, timeout)
        self._log.close()


@contextlib.contextmanager
def serving(
    name: str, app_spec: str, run: RunContext, workers: int = 2, **kwargs: str | None
) -> Iterator[Server]:
    server = Server(name, app_spec, run, workers, **kwargs)  # type: ignore[arg-type]
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
