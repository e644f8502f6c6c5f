"""Load from separate processes on loopback: wrk when it can be had, else Python.

Every loop here is bounded twice, by a request count and by a deadline, and
stops by itself. Gunicorn's sync workers close the connection after each
response, so both generators open one TCP connection per request, as any
client of this service does.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_REQUESTS_PER_ROUND = 1_000_000
APT_TIMEOUT_SECONDS = 180


@dataclass(frozen=True)
class Throughput:
    requests: int
    seconds: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str | None:
    """Path to wrk; installs Debian's package when missing and root with apt-get."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    # A fresh machine may have no package lists yet: update once, then retry.
    for step in (install, ["apt-get", "update", "-q"], install):
        try:
            subprocess.run(
                step, env=env, capture_output=True, timeout=APT_TIMEOUT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired:
            return shutil.which("wrk")
        if shutil.which("wrk"):
            break
    return shutil.which("wrk")


def parse_wrk(output: str) -> Throughput:
    """wrk's summary -> completed requests, duration, and failed responses."""
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", output)
    if done is None:
        raise ValueError(f"unexpected wrk output:\n{output}")
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[done.group(3)]
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    sockets = re.search(r"connect (\d+), read \d+, write (\d+), timeout (\d+)", output)
    if sockets:
        # Read errors are left out: wrk counts the server's close after each
        # response (sync workers do not keep connections alive) as one.
        errors += sum(int(n) for n in sockets.groups())
    return Throughput(int(done.group(1)), float(done.group(2)) * scale, errors)


def wrk_round(wrk: str, url: str, seconds: float, connections: int) -> Throughput:
    argv = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=True)
    return parse_wrk(done.stdout)


def _get(host: str, port: int, method: str, path: str, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _timed_loop(args: tuple[str, float, int]) -> tuple[int, int, float]:
    url, seconds, limit = args
    parts = urlsplit(url)
    started = time.perf_counter()
    deadline = started + seconds
    ok = errors = 0
    while ok + errors < limit and time.perf_counter() < deadline:
        try:
            status = _get(parts.hostname or "127.0.0.1", parts.port or 80, "GET", parts.path, {})
        except OSError:
            status = 0
        if 200 <= status < 300:
            ok += 1
        else:
            errors += 1
    return ok, errors, time.perf_counter() - started


def python_round(url: str, seconds: float, processes: int) -> Throughput:
    """Fallback for wrk: `processes` client loops, each one bounded in time and count."""
    limit = MAX_REQUESTS_PER_ROUND // processes
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        results = pool.map(_timed_loop, [(url, seconds, limit)] * processes)
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    return Throughput(ok, max(r[2] for r in results), errors)


Request = tuple[str, str]  # (method, path)


def _send_all(args: tuple[str, list[Request], dict[str, str], float]) -> Counter:
    base, requests, headers, deadline = args
    parts = urlsplit(base)
    statuses: Counter = Counter()
    for method, path in requests:
        if time.monotonic() > deadline:
            statuses["timed_out"] += 1
            continue
        try:
            statuses[_get(parts.hostname or "", parts.port or 80, method, path, headers)] += 1
        except OSError:
            statuses["error"] += 1
    return statuses


def drive(
    base: str,
    requests: list[Request],
    processes: int = 2,
    headers: dict[str, str] | None = None,
    timeout: float = 120,
) -> Counter:
    """Send exactly these requests, split over client processes; statuses by count."""
    deadline = time.monotonic() + timeout
    shares = [requests[i::processes] for i in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        counters = pool.map(_send_all, [(base, s, headers or {}, deadline) for s in shares])
    return sum(counters, Counter())
