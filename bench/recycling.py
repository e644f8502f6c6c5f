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
nobody folds, then folded in the first, exactly as `child_exit` does. The
directories as they stand after 0, 100 and 500 recycles (two live workers'
files present) are copied aside, then all are timed in interleaved rounds
(CPU time of this process; per-round ratios against the fresh copy, so a
change in the machine's load moves every checkpoint alike), on the same
values: the service's scrape path (`multiproc.collect`: the fold lock, a
check for unfolded dead workers, reading) and the stock collector on the
unfolded copy. A second copy of the fresh directory is the A/A control. A
real Gunicorn takes ~1 s per worker boot on this machine, so 500 real
recycles would take ten minutes; the files, the fold and the reading code
are the real ones. A last row checks the whole
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


def _cpu(fn) -> float:
    """CPU seconds of this process for one call: the machine is shared, and other
    processes' load would otherwise show up as scrape time."""
    started = time.process_time()
    fn()
    return time.process_time() - started


def _total(families) -> float:
    return sum(
        s.value
        for f in families
        if f.name == "http_request_latency_seconds"
        for s in f.samples
        if s.name.endswith("_count")
    )


def _snapshot(source: str, into: str) -> str:
    """A copy of a metrics directory as it stands: the live workers' pids are in it
    and still alive, so reading the copy folds nothing and changes nothing."""
    shutil.copytree(source, into)
    return into


def _db_files(path: str) -> int:
    return len([n for n in os.listdir(path) if n.endswith(".db")])


def measure(folded: str, stock: str, scrapes: int) -> list[dict]:
    """(Runs in the child process.) Builds the directories as they stand after 0,
    100 and 500 recycles, then times all of them in interleaved rounds, so a
    change in the machine's load moves every checkpoint alike."""
    from prometheus_client.multiprocess import MultiProcessCollector

    from service.observability import multiproc

    live = [_live_worker(seed) for seed in (1, 2)]
    time.sleep(0.2)  # the live workers' files are written
    for name in os.listdir(folded):
        if name.endswith(".db"):
            shutil.copy(os.path.join(folded, name), os.path.join(stock, name))
    snapshots: dict[str, tuple[str, str]] = {}
    recycled = 0
    try:
        for checkpoint in CHECKPOINTS:
            while recycled < checkpoint:
                recycled += 1
                _worker_life(folded, stock, recycled)
            snapshots[str(checkpoint)] = (
                _snapshot(folded, f"{folded}-at-{checkpoint}"),
                _snapshot(stock, f"{stock}-at-{checkpoint}"),
            )
        # A/A control: a second copy of the fresh directories, timed in the same rounds.
        snapshots["0-again"] = (
            _snapshot(snapshots["0"][0], f"{folded}-at-0-again"),
            _snapshot(snapshots["0"][1], f"{stock}-at-0-again"),
        )
        keys = list(snapshots)
        cpu: dict[str, dict[str, list[float]]] = {k: {"ours": [], "stock": []} for k in keys}
        for round_no in range(3 * scrapes):
            shift = round_no % len(keys)
            for key in keys[shift:] + keys[:shift]:
                ours_dir, stock_dir = snapshots[key]
                cpu[key]["ours"].append(_cpu(lambda d=ours_dir: multiproc.collect(d)))
                cpu[key]["stock"].append(
                    _cpu(lambda d=stock_dir: list(MultiProcessCollector(None, path=d).collect()))
                )
        points = []
        for key in keys:
            ours_dir, stock_dir = snapshots[key]
            same = _total(multiproc.collect(ours_dir)[2]) == _total(
                MultiProcessCollector(None, path=stock_dir).collect()
            )
            points.append(
                {
                    "recycles": key,
                    "ours": stats.median(cpu[key]["ours"]),
                    "stock": stats.median(cpu[key]["stock"]),
                    # Per-round ratios against the fresh directory in the same round.
                    "ratio": stats.median(
                        [
                            a / b
                            for a, b in zip(cpu[key]["ours"], cpu["0"]["ours"], strict=True)
                            if b > 0
                        ]
                    ),
                    "same_values": same,
                    "files_ours": _db_files(ours_dir),
                    "files_stock": _db_files(stock_dir),
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
    by_key = {p["recycles"]: p for p in points}
    last = str(CHECKPOINTS[-1])
    rounds = 3 * scrapes
    rows = []
    for checkpoint in CHECKPOINTS:
        point = by_key[str(checkpoint)]
        is_last = point["recycles"] == last
        rows.append(
            Row(
                "9. Scrape after recycles",
                f"{checkpoint} recycles: folded (service) vs stock collector, CPU p50 of"
                f" {rounds} interleaved rounds; {point['files_ours']} vs"
                f" {point['files_stock']} files",
                f"{point['stock'] * 1000:.1f} ms stock",
                f"{point['ours'] * 1000:.1f} ms folded",
                point["ratio"],
                f"<= {TARGET_RATIO}x fresh" if is_last else "-",
                (point["ratio"] <= TARGET_RATIO and point["same_values"]) if is_last else None,
            )
        )
    control = by_key["0-again"]
    rows.append(
        Row(
            "9. Scrape after recycles",
            "A/A control: a second copy of the fresh directory, same rounds",
            f"{by_key['0']['ours'] * 1000:.1f} ms",
            f"{control['ours'] * 1000:.1f} ms",
            control["ratio"],
            "1.00 up to noise",
            None,
        )
    )
    details = [
        "Ratio column: median over rounds of folded CPU time at the checkpoint / folded CPU"
        " time with fresh workers (0 recycles) in the same round. Stock after"
        f" {last} recycles vs fresh: "
        f"{stats.ratio(by_key[last]['stock'], by_key['0']['stock']):.1f}x.",
        "Both read the same values at every point: "
        + ", ".join(f"{p['recycles']}: {p['same_values']}" for p in points)
        + ".",
    ]
    return Outcome(rows, details)


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
