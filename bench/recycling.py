"""Benchmark: scrape cost after many worker recycles, folded vs the stock collector.

Gunicorn recycles workers (`max_requests`), and each dead worker leaves its
`counter_<pid>.db` and `histogram_<pid>.db` behind; prometheus_client's stock
MultiProcessCollector reads every one of them at every scrape. This service
folds a dead worker's files into one archive when the master reaps it
(service/observability/multiproc.py, gunicorn.conf.py `child_exit`).

Worker lives are simulated with real processes, in a process of its own
(`python -m bench.recycling`, PROMETHEUS_MULTIPROC_DIR set before import): a
forked child records the app's HTTP metrics for a spread of routes, methods
and statuses through the service's own `record()`, as a worker serving
requests would, and exits. Its files are copied into a second directory that
nobody folds, then folded in the first, exactly as `child_exit` does. After
0, 100 and 500 recycles, with two live workers' files present, both are
timed (CPU time, median) on the same values: the service's scrape path (`multiproc.collect`: the
fold lock, a check for unfolded dead workers, reading) and the stock
collector on the unfolded copy. A real Gunicorn takes ~1 s per worker boot on
this machine, so 500 real recycles would take ten minutes; the files, the
fold and the reading code are the real ones. A last row checks the whole
endpoint from outside on the real app under Gunicorn (wall time, so noisier)
after REAL_CHECKPOINTS recycles.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import stats
from .results import Outcome, Row
from .server import ROOT, Server, base_env

CHECKPOINTS = (0, 100, 500)
REAL_CHECKPOINTS = (0, 100)  # real worker boots take ~1 s each here
REAL_MAX_REQUESTS = 10
TARGET_RATIO = 1.5
PATHS = [f"/v1/route/{i}" for i in range(12)] + ["/healthz", "/readyz", "/metrics"]
STATUSES = (200, 400, 404, 500)


def _serve_requests(seed: int) -> None:
    from service.observability.metrics import record

    for i, path in enumerate(PATHS):
        for status in STATUSES:
            if (i + status + seed) % 3:
                record("GET" if i % 2 else "POST", path, status, 0.003 * (1 + i % 7))


def _worker_life(folded: str, stock: str, seed: int) -> None:
    from service.observability import multiproc

    pid = os.fork()
    if pid == 0:
        _serve_requests(seed)
        os._exit(0)
    os.waitpid(pid, 0)
    for name in os.listdir(folded):
        if name.endswith(f"_{pid}.db"):
            shutil.copy(os.path.join(folded, name), os.path.join(stock, name))
    multiproc.fold_process(folded, pid)  # what gunicorn.conf.py's child_exit does


def _live_worker(seed: int) -> int:
    pid = os.fork()
    if pid == 0:
        _serve_requests(seed)
        signal.pause()
        os._exit(0)
    return pid


def _time(fn, scrapes: int) -> float:
    """Median CPU seconds of this process per call: the machine is shared, and other
    processes' load would otherwise show up as scrape time."""
    samples = []
    for _ in range(scrapes):
        started = time.process_time()
        fn()
        samples.append(time.process_time() - started)
    return stats.median(samples)


def _total(families) -> float:
    return sum(
        s.value
        for f in families
        if f.name == "http_request_latency_seconds"
        for s in f.samples
        if s.name.endswith("_count")
    )


def measure(folded: str, stock: str, scrapes: int) -> list[dict]:
    """(Runs in the child process.) Times at each checkpoint."""
    from prometheus_client.multiprocess import MultiProcessCollector

    from service.observability import multiproc

    live = [_live_worker(seed) for seed in (1, 2)]
    time.sleep(0.2)  # the live workers' files are written
    for name in os.listdir(folded):
        if name.endswith(".db"):
            shutil.copy(os.path.join(folded, name), os.path.join(stock, name))
    points, recycled = [], 0
    try:
        for checkpoint in CHECKPOINTS:
            while recycled < checkpoint:
                recycled += 1
                _worker_life(folded, stock, recycled)
            ours = _time(lambda: multiproc.collect(folded), scrapes)
            theirs = _time(lambda: list(MultiProcessCollector(None, path=stock).collect()), scrapes)
            same = _total(multiproc.collect(folded)[2]) == _total(
                MultiProcessCollector(None, path=stock).collect()
            )
            files = {
                d: len([n for n in os.listdir(d) if n.endswith(".db")]) for d in (folded, stock)
            }
            points.append(
                {
                    "recycles": checkpoint,
                    "ours": ours,
                    "stock": theirs,
                    "same_values": same,
                    "files_ours": files[folded],
                    "files_stock": files[stock],
                }
            )
    finally:
        for pid in live:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
    return points


def _http_get(port: int, path: str, headers: dict[str, str] | None = None) -> float:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    try:
        conn.request("GET", path, headers={"Connection": "close", **(headers or {})})
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"{path} answered {response.status}")
    return time.perf_counter() - started


def real_gunicorn(workdir: Path, scrapes: int) -> list[dict]:
    """/metrics from outside, on the real app under Gunicorn, as workers recycle
    (`max_requests` small, a fresh connection per request)."""
    from .server import METRICS_TOKEN

    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    points = []
    server = Server(
        "recycling", "wsgi:app", workdir, 2, GUNICORN_MAX_REQUESTS=str(REAL_MAX_REQUESTS)
    )
    try:
        server.wait_ready(60)
        for checkpoint in REAL_CHECKPOINTS:
            while server.tail(10**9).count("Autorestarting worker") < checkpoint:
                _http_get(server.port, "/healthz")
            # Wall time on a shared machine, and some scrapes meet a freshly booted
            # worker: more of them than the in-process part takes.
            timings = [_http_get(server.port, "/metrics", auth) for _ in range(3 * scrapes)]
            files = len(list(server.prom_dir.glob("*.db")))
            points.append({"recycles": checkpoint, "p50": stats.median(timings), "files": files})
    finally:
        server.stop()
    return points


def run(workdir: Path, scrapes: int) -> Outcome:
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        folded, stock = Path(tmp) / "folded", Path(tmp) / "stock"
        folded.mkdir()
        stock.mkdir()
        env = base_env(workdir, PROMETHEUS_MULTIPROC_DIR=str(folded))
        done = subprocess.run(
            [sys.executable, "-m", "bench.recycling", str(folded), str(stock), str(scrapes)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    if done.returncode != 0:
        raise RuntimeError(f"bench.recycling failed:\n{done.stderr[-3000:]}")
    outcome = summarize(json.loads(done.stdout.strip().splitlines()[-1]), scrapes)
    real = real_gunicorn(workdir, scrapes)
    for point in real[1:]:
        ratio = stats.ratio(point["p50"], real[0]["p50"])
        outcome.rows.append(
            Row(
                "9. Scrape after recycles",
                f"real Gunicorn, 2 workers, max_requests {REAL_MAX_REQUESTS}: /metrics p50 of"
                f" {3 * scrapes} from outside after {point['recycles']} recycles"
                f" ({point['files']} files)",
                f"{real[0]['p50'] * 1000:.1f} ms fresh",
                f"{point['p50'] * 1000:.1f} ms",
                ratio,
                f"<= {TARGET_RATIO}x fresh",
                ratio <= TARGET_RATIO,
            )
        )
    return outcome


def summarize(points: list[dict], scrapes: int) -> Outcome:
    fresh = points[0]["ours"]
    rows = []
    for point in points:
        ratio = stats.ratio(point["ours"], fresh)
        last = point["recycles"] == CHECKPOINTS[-1]
        rows.append(
            Row(
                "9. Scrape after recycles",
                f"{point['recycles']} recycles: folded (service) vs stock collector,"
                f" p50 of {scrapes}; {point['files_ours']} vs {point['files_stock']} files",
                f"{point['stock'] * 1000:.1f} ms stock",
                f"{point['ours'] * 1000:.1f} ms folded",
                ratio,
                f"<= {TARGET_RATIO}x fresh" if last else "-",
                (ratio <= TARGET_RATIO and point["same_values"]) if last else None,
            )
        )
    details = [
        "Ratio column: folded p50 / folded p50 with fresh workers (0 recycles)."
        " Stock after 500 recycles vs fresh: "
        f"{stats.ratio(points[-1]['stock'], points[0]['stock']):.1f}x.",
        "Both read the same values at every point: "
        + ", ".join(f"{p['recycles']}: {p['same_values']}" for p in points)
        + ".",
    ]
    return Outcome(rows, details)


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
