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


def wrk_round(wrk: str, urls: list[str], seconds: float, connections: int) -> list[Throughput]:
    """One wrk process per URL, all running over the same seconds."""
    argv = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    procs = [
        subprocess.Popen([*argv, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for url in urls
    ]
    outputs = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {err.strip()}")
        outputs.append(out)
    return [parse_wrk(out) for out in outputs]


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


def python_round(urls: list[str], seconds: float, processes: int) -> list[Throughput]:
    """Fallback for wrk: `processes` client loops per URL, all at once, each bounded."""
    limit = MAX_REQUESTS_PER_ROUND // processes
    jobs = [(url, seconds, limit) for url in urls for _ in range(processes)]
    with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
        results = pool.map(_timed_loop, jobs)
    out = []
    for i in range(len(urls)):
        mine = results[i * processes : (i + 1) * processes]
        out.append(
            Throughput(sum(r[0] for r in mine), max(r[2] for r in mine), sum(r[1] for r in mine))
        )
    return out


Request = tuple[str, str]  # (method, path)


def _send_all(args: tuple[str, list[Request], float]) -> Counter:
    base, requests, deadline = args
    parts = urlsplit(base)
    statuses: Counter = Counter()
    for method, path in requests:
        if time.monotonic() > deadline:
            statuses["timed_out"] += 1
            continue
        try:
            statuses[_get(parts.hostname or "", parts.port or 80, method, path, {})] += 1
        except OSError:
            statuses["error"] += 1
    return statuses


def drive(
    plan: dict[str, list[Request]], processes: int = 2, timeout: float = 120
) -> dict[str, Counter]:
    """Send exactly these requests to each base URL, every server at once.

    `processes` client processes per server; returns each server's statuses
    by count ("timed_out" for requests left unsent at the deadline).
    """
    deadline = time.monotonic() + timeout
    jobs = [
        (base, requests[i::processes], deadline)
        for base, requests in plan.items()
        for i in range(processes)
    ]
    with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
        counters = pool.map(_send_all, jobs)
    totals: dict[str, Counter] = {base: Counter() for base in plan}
    for (base, _, _), counter in zip(jobs, counters, strict=True):
        totals[base] += counter
    return totals
