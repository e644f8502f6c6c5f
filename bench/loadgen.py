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
from pathlib import Path
from urllib.parse import urlsplit

from .events import Delivery, deliveries

MAX_REQUESTS_PER_ROUND = 1_000_000
APT_TIMEOUT_SECONDS = 180
# Deliveries signed per server and second of a webhook round: well above any
# rate this machine reaches, so wrk never runs out (it would stop, not repeat).
DELIVERIES_PER_SECOND = 1500
WEBHOOK_PATH = "/v1/webhooks/stripe"
REPLAY_LUA = Path(__file__).parent / "lua" / "replay.lua"


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


def wrk_round(
    wrk: str,
    urls: list[str],
    seconds: float,
    connections: int,
    scripts: list[list[str]] | None = None,
) -> list[Throughput]:
    """One wrk process per URL, all running over the same seconds.

    `scripts[i]`, when given, is appended to URL i's argv (`-s file ... -- args`).
    """
    argv = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    extra = scripts or [[] for _ in urls]
    procs = [
        subprocess.Popen(
            [*argv, *script[:2], url, *script[2:]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for url, script in zip(urls, extra, strict=True)
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


def get_round(wrk: str | None, urls: list[str], seconds: float, connections: int) -> list:
    if wrk:
        return wrk_round(wrk, urls, seconds, connections)
    return python_round(urls, seconds, connections)


def write_replay_file(path: Path, batch: list[Delivery]) -> None:
    """The file bench/lua/replay.lua reads: signature, length, body per delivery."""
    with open(path, "wb") as f:
        for d in batch:
            f.write(f"{d.signature}\n{len(d.body)}\n".encode() + d.body)


def webhook_round(
    wrk: str | None, bases: list[str], seconds: float, connections: int, scratch: Path
) -> list[Throughput]:
    """Distinct signed deliveries to each server over the same seconds, each sent once."""
    count = int(DELIVERIES_PER_SECOND * max(1.0, seconds))
    batches = [deliveries(count) for _ in bases]
    urls = [f"{base}{WEBHOOK_PATH}" for base in bases]
    if wrk is None:
        return _python_webhook_round(urls, batches, seconds, connections)
    scripts = []
    for i, batch in enumerate(batches):
        path = scratch.with_name(f"{scratch.name}-{i}.replay")
        write_replay_file(path, batch)
        scripts.append(["-s", str(REPLAY_LUA), "--", str(path)])
    try:
        results = wrk_round(wrk, urls, seconds, connections, scripts)
    finally:
        for script in scripts:
            Path(script[-1]).unlink(missing_ok=True)
    for result in results:
        if result.requests >= count:
            raise RuntimeError(f"wrk ran out of deliveries ({count}): raise DELIVERIES_PER_SECOND")
    return results


def _post(conn: http.client.HTTPConnection, d: Delivery) -> int:
    headers = {"Content-Type": "application/json", "Stripe-Signature": d.signature}
    conn.request("POST", WEBHOOK_PATH, body=d.body, headers=headers)
    response = conn.getresponse()
    response.read()
    if response.getheader("Connection", "").lower() == "close":
        conn.close()
    return response.status


def _post_loop(args: tuple[str, list[Delivery], float]) -> tuple[Counter, float]:
    """Send each delivery once over one (kept-alive when the server allows) connection."""
    base, batch, deadline = args
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=10)
    statuses: Counter = Counter()
    started = time.perf_counter()
    try:
        for d in batch:
            if time.monotonic() > deadline:
                break
            try:
                statuses[_post(conn, d)] += 1
            except OSError:
                conn.close()
                statuses["error"] += 1
    finally:
        conn.close()
    return statuses, time.perf_counter() - started


def post_all(plan: dict[str, list[Delivery]], processes: int, timeout: float) -> dict[str, Counter]:
    """Send exactly these deliveries to each base URL (`processes` clients each), once."""
    return _fan_out(plan, processes, timeout, _post_statuses)


def _post_statuses(args: tuple[str, list[Delivery], float]) -> Counter:
    return _post_loop(args)[0]


def _fan_out(plan: dict[str, list], processes: int, timeout: float, send) -> dict[str, Counter]:
    """Split each server's items over `processes` forked clients, every server at
    once; `send((base, items, deadline))` returns a Counter of statuses."""
    deadline = time.monotonic() + timeout
    jobs = [
        (base, items[i::processes], deadline)
        for base, items in plan.items()
        for i in range(processes)
    ]
    with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
        counters = pool.map(send, jobs)
    totals: dict[str, Counter] = {base: Counter() for base in plan}
    for (base, _, _), counter in zip(jobs, counters, strict=True):
        totals[base] += counter
    return totals


def post_deliveries(base: str, count: int) -> Counter:
    return post_all({base: deliveries(count)}, processes=1, timeout=60)[base]


def _python_webhook_round(
    urls: list[str], batches: list[list[Delivery]], seconds: float, connections: int
) -> list[Throughput]:
    deadline = time.monotonic() + seconds
    bases = [url.removesuffix(WEBHOOK_PATH) for url in urls]
    jobs = [
        (base, batch[i::connections], deadline)
        for base, batch in zip(bases, batches, strict=True)
        for i in range(connections)
    ]
    with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
        answers = pool.map(_post_loop, jobs)
    out = []
    for i in range(len(urls)):
        mine = answers[i * connections : (i + 1) * connections]
        ok = sum(s[200] for s, _ in mine)
        bad = sum(sum(s.values()) - s[200] for s, _ in mine)
        out.append(Throughput(ok, max(t for _, t in mine), bad))
    return out


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
    return _fan_out(plan, processes, timeout, _send_all)


def _paced_posts(args: tuple[str, list[Delivery], float, float]) -> Counter:
    """Send the deliveries at `rate` per second on a fixed schedule (open loop)."""
    base, batch, rate, deadline = args
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=10)
    statuses: Counter = Counter()
    started = time.monotonic()
    try:
        for i, d in enumerate(batch):
            slot = started + i / rate
            if slot > deadline:
                break
            time.sleep(max(0.0, slot - time.monotonic()))
            try:
                statuses[_post(conn, d)] += 1
            except OSError:
                conn.close()
                statuses["error"] += 1
    finally:
        conn.close()
    return statuses


@dataclass(frozen=True)
class Probe:
    base: str
    path: str
    headers: tuple[tuple[str, str], ...]
    interval: float


def _probe_loop(args: tuple[Probe, float]) -> tuple[list[float], Counter]:
    """GET the path every `interval` seconds on a fresh connection (as kubelet and
    Prometheus do); latencies in ms, from connect to the last byte."""
    probe, deadline = args
    parts = urlsplit(probe.base)
    latencies: list[float] = []
    statuses: Counter = Counter()
    next_at = time.monotonic()
    while next_at < deadline:
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at += probe.interval
        started = time.perf_counter()
        try:
            status = _get(
                parts.hostname or "", parts.port or 80, "GET", probe.path, dict(probe.headers)
            )
        except OSError:
            status = 0
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] += 1
    return latencies, statuses


def load_and_probe(
    base: str, rate: float, seconds: float, probes: list[Probe], senders: int = 2
) -> tuple[Counter, list[tuple[list[float], Counter]]]:
    """Webhooks at `rate`/s for `seconds` while the probes run; bounded by both."""
    deadline = time.monotonic() + seconds + 2  # pool start-up
    count = int(rate * seconds * 1.2) + senders
    batch = deliveries(count)
    start_by = time.monotonic() + seconds
    jobs: list = [(base, batch[i::senders], rate / senders, start_by) for i in range(senders)]
    with multiprocessing.get_context("fork").Pool(senders + len(probes)) as pool:
        sent = pool.map_async(_paced_posts, jobs)
        probed = pool.map_async(_probe_loop, [(p, start_by) for p in probes])
        statuses = sum(sent.get(timeout=deadline - time.monotonic() + 30), Counter())
        results = probed.get(timeout=deadline - time.monotonic() + 30)
    return statuses, results


def probe_only(probes: list[Probe], seconds: float) -> list[tuple[list[float], Counter]]:
    end = time.monotonic() + seconds
    with multiprocessing.get_context("fork").Pool(len(probes)) as pool:
        return pool.map(_probe_loop, [(p, end) for p in probes])
