"""Folding a dead worker's multiprocess files into the archive (multiproc.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector

from service.observability import multiproc

HELP = "HTTP request latency by method, route template and status class."


def _write(path: Path, kind: str, pid: int | str, values: dict[tuple[str, str], float]) -> None:
    """A worker's file as prometheus_client writes it: {(sample, path): value}."""
    store = MmapedDict(str(path / f"{kind}_{pid}.db"))
    for (sample, route), value in values.items():
        labels = ["path"] + (["le"] if sample.endswith("_bucket") else [])
        label_values = [route] + (["0.1"] if sample.endswith("_bucket") else [])
        key = mmap_key("http_request_latency_seconds", sample, labels, label_values, HELP)
        store.write_value(key, value, 0.0)
    store.close()


def _worker(path: Path, pid: int | str, count: float) -> None:
    _write(
        path,
        "histogram",
        pid,
        {
            ("http_request_latency_seconds_bucket", "/a"): count,
            ("http_request_latency_seconds_sum", "/a"): count * 0.01,
        },
    )


def _totals(path: Path) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in MultiProcessCollector(None, path=str(path)).collect()
        for s in family.samples
    }


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_folding_keeps_every_value_and_leaves_one_file_per_type(tmp_path: Path):
    for pid, count in ((101, 3), (102, 5), (os.getpid(), 7)):
        _worker(tmp_path, pid, count)
    MmapedDict(str(tmp_path / "gauge_livesum_101.db")).close()  # a live-only gauge
    before = _totals(tmp_path)
    assert before[("http_request_latency_seconds_count", (("path", "/a"),))] == 15

    assert multiproc.fold_process(str(tmp_path), 101) == 1
    assert multiproc.fold_process(str(tmp_path), 102) == 1
    assert multiproc.fold_process(str(tmp_path), 102) == 0  # already gone: nothing twice

    assert _totals(tmp_path) == before
    names = sorted(p.name for p in tmp_path.glob("*.db"))
    assert names == sorted(["histogram_archive.db", f"histogram_{os.getpid()}.db"])


def test_a_scrape_folds_dead_workers_the_master_missed(tmp_path: Path):
    dead = _dead_pid()
    _worker(tmp_path, dead, 4)
    _worker(tmp_path, os.getpid(), 2)
    boot, read_ns, families = multiproc.collect(str(tmp_path))
    counts = [
        s.value
        for f in families
        for s in f.samples
        if s.name == "http_request_latency_seconds_count"
    ]
    assert counts == [6]
    assert not (tmp_path / f"histogram_{dead}.db").exists()
    assert (tmp_path / f"histogram_{os.getpid()}.db").exists()  # alive: left alone
    # The generation stays until the master empties the directory.
    assert multiproc.collect(str(tmp_path))[0] == boot
    assert multiproc.collect(str(tmp_path))[1] > read_ns
    multiproc.clear(str(tmp_path))
    assert list(tmp_path.glob("*.db")) == []
    assert multiproc.collect(str(tmp_path))[0] != boot
