"""A fleet of web instances for the fleet tests: processes, proxy, Prometheus servers.

Three web instances start from deploy/agent/Procfile.agent's `web` line,
which is the Procfile's `web` line run by `deploy/agent/with-agent` (a test
checks that), so each is one Gunicorn master with its own multiprocess
directory and DYNO, plus its Prometheus agent. HAProxy balances requests over
them round-robin, as a platform router does; one Prometheus scrapes only
through HAProxy, another receives the agents' remote writes.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from devkit.processes import stop_group
from tests.helpers import ROOT, procfile_command, wait_until

AGENT_PROCFILE = ROOT / "deploy" / "agent" / "Procfile.agent"


def agent_web_command() -> str:
    for line in AGENT_PROCFILE.read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "web":
            return command.strip()
    raise LookupError("no web line in Procfile.agent")


class Process:
    """A process in its own session, output to a file; the whole group stops."""

    def __init__(self, argv: list[str], log_path: Path, env: dict[str, str] | None = None):
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 (closed in stop())
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 15) -> None:
        stop_group(self.popen, timeout)
        self._log.close()


def _stat(pid: str) -> tuple[int, int] | None:
    """(parent pid, process group) of a process, from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[2])


def _cmdline(pid: int | str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def gunicorn_workers(group: int) -> set[int]:
    """Gunicorn worker pids in a process group: gunicorn processes whose parent
    is a gunicorn process (the master)."""
    procs = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(entry)) and stat[1] == group:
            procs[int(entry)] = stat[0]
    gunicorns = {
        pid for pid in procs if "gunicorn" in (c := _cmdline(pid)) and "with-agent" not in c
    }
    return {pid for pid in gunicorns if procs[pid] in gunicorns}


@dataclass
class Instance:
    dyno: str
    port: int
    multiproc_dir: Path
    process: Process
    worker_pids: set[int] = field(default_factory=set)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def haproxy(port: int, backends: list[int], home: Path) -> Process:
    servers = "\n".join(f"  server web{i} 127.0.0.1:{p}" for i, p in enumerate(backends, start=1))
    config = f"""global
  maxconn 512
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  # A new balancing decision for every request, Prometheus's kept-alive scrapes included.
  option http-server-close
frontend router
  bind 127.0.0.1:{port}
  default_backend web
backend web
  balance roundrobin
{servers}
"""
    (home / "haproxy.cfg").write_text(config)
    return Process(["haproxy", "-db", "-f", str(home / "haproxy.cfg")], home / "haproxy.log")


class Prometheus:
    def __init__(self, process: Process, base: str) -> None:
        self.process, self.base = process, base

    def api(self, path: str, **params: str) -> Any:
        response = requests.get(f"{self.base}/api/v1/{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()["data"]

    def vector(self, expr: str) -> list[tuple[dict[str, str], float]]:
        return [
            (r["metric"], float(r["value"][1])) for r in self.api("query", query=expr)["result"]
        ]

    def by(self, expr: str, label: str) -> dict[str, float]:
        return {metric.get(label, ""): value for metric, value in self.vector(expr)}

    def scalar(self, expr: str) -> float | None:
        result = self.vector(expr)
        return result[0][1] if result else None

    def alerts(self, name: str) -> list[dict[str, Any]]:
        return [a for a in self.api("alerts")["alerts"] if a["labels"]["alertname"] == name]


def prometheus(
    home: Path, port: int, config: dict[str, Any], rules: str | None, *flags: str
) -> Prometheus:
    home.mkdir(parents=True, exist_ok=True)
    if rules is not None:
        (home / "alerts.yml").write_text(rules)
        config = {**config, "rule_files": [str(home / "alerts.yml")]}
    (home / "prometheus.yml").write_text(yaml.safe_dump(config))
    process = Process(
        [
            "prometheus",
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
            *flags,
        ],
        home / "prometheus.log",
    )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if not process.alive():
            raise AssertionError(process.output()[-3000:])
        with contextlib.suppress(requests.RequestException):
            return requests.get(f"{base}/-/ready", timeout=1).status_code == 200
        return False

    wait_until(ready, 30, message="prometheus ready")
    return Prometheus(process, base)


def web_line_is_the_procfiles() -> bool:
    return agent_web_command() == f"deploy/agent/with-agent {procfile_command('web')}"
