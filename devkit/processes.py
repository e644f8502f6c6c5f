"""Ports, Procfile lines and /proc readings, for tests/ and bench/ alike."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def procfile_command(process_type: str) -> str:
    """The Procfile's command line for `process_type` (web, worker, release)."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() == process_type:
            return command.strip()
    raise LookupError(f"no {process_type!r} line in the Procfile")


def procfile_argv(process_type: str) -> list[str]:
    return shlex.split(procfile_command(process_type))


def _stat_fields(pid: int | str) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def child_pids(parent: int) -> set[int]:
    """Live processes whose parent is `parent` (a Gunicorn master's workers)."""
    children = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = _stat_fields(entry)
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == parent:
            children.add(int(entry))
    return children


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time these processes have used, from /proc/<pid>/stat."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """VmRSS of a process, in KiB, from /proc/<pid>/status."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise LookupError(f"no VmRSS for pid {pid}")


def stop_group(popen: subprocess.Popen, timeout: float = 15) -> int | None:
    """SIGTERM to the process and up to `timeout` seconds to exit, then SIGKILL to
    whatever its process group left behind (a hung master's Gunicorn workers).
    The process must have been started in a session of its own."""
    if popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            popen.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        popen.wait(timeout=5)
    return popen.returncode
