"""Prometheus multiprocess files that stay cheap to read for weeks.

Every Gunicorn worker writes its counters and histograms to files named
`<type>_<pid>.db`; prometheus_client's stock collector reads every file ever
written, so a master that recycles workers for weeks makes each scrape slower
without bound. Here a dead worker's counter, histogram and summary files are
folded into one archive file per type (`counter_archive.db`, ...) when the
master reaps it (gunicorn.conf.py `child_exit`) or, failing that, at the next
scrape. Folding and reading hold the same exclusive `fcntl` lock on the
directory, so a reader sees a dead worker's values either in its own file or
in the archive, never in both and never in neither. Live-only gauges of a
dead worker are dropped, as `mark_process_dead` does.

A fold writes the new archive beside the old one and renames it into place,
then removes the dead file: a crash between those two steps (microseconds,
and only in the process doing the fold) would count that worker twice until
the master restarts and empties the directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import time
from collections.abc import Iterator

from prometheus_client.core import Metric
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

FOLDED_TYPES = ("counter", "histogram", "summary")
LOCK_FILE = ".fold.lock"
PUBLISHER_LOCK_FILE = ".publisher.lock"
BOOT_FILE = "boot-id"


@contextlib.contextmanager
def directory_lock(path: str) -> Iterator[None]:
    """The directory's fold lock, exclusive; released when the block ends (or the
    process dies: the kernel drops an flock with its last descriptor)."""
    fd = os.open(os.path.join(path, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def claim_publisher(path: str) -> int | None:
    """An open descriptor holding this directory's publisher lock, or None when
    another live process holds it. Kept open for the life of the process: the
    kernel hands the lock to the next claimant when the holder dies."""
    fd = os.open(os.path.join(path, PUBLISHER_LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _worker_file(name: str) -> tuple[str, int] | None:
    """(type, pid) for a foldable per-worker file name, else None."""
    if not name.endswith(".db"):
        return None
    kind, _, pid = name[:-3].partition("_")
    if kind in FOLDED_TYPES and pid.isdigit():
        return kind, int(pid)
    return None


def _fold_file(path: str, kind: str, source: str) -> None:
    archive = os.path.join(path, f"{kind}_archive.db")
    staging = archive + ".tmp"  # not *.db: no reader globs it
    if os.path.exists(archive):
        shutil.copyfile(archive, staging)
    elif os.path.exists(staging):
        os.remove(staging)
    values = MmapedDict.read_all_values_from_file(source)
    merged = MmapedDict(staging)
    try:
        for key, value, timestamp, _ in values:
            merged.write_value(key, merged.read_value(key)[0] + value, timestamp)
    finally:
        merged.close()
    os.replace(staging, archive)
    os.remove(source)


def _fold_locked(path: str, pid: int) -> int:
    folded = 0
    for kind in FOLDED_TYPES:
        source = os.path.join(path, f"{kind}_{pid}.db")
        if os.path.exists(source):
            _fold_file(path, kind, source)
            folded += 1
    mark_process_dead(pid, path)
    return folded


def fold_process(path: str, pid: int) -> int:
    """Fold a dead worker's files into the archive; returns how many files went."""
    with directory_lock(path):
        return _fold_locked(path, pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fold_dead(path: str) -> int:
    """Fold every worker file whose process is gone (caller holds the lock)."""
    pids = {parsed[1] for name in os.listdir(path) if (parsed := _worker_file(name))}
    dead = [pid for pid in pids if pid != os.getpid() and not _alive(pid)]
    return sum(_fold_locked(path, pid) for pid in dead)


def boot_id(path: str) -> str:
    """This master's generation: new whenever the directory was emptied
    (gunicorn.conf.py removes it with the metric files at master start).
    Caller holds the lock."""
    boot_path = os.path.join(path, BOOT_FILE)
    with contextlib.suppress(FileNotFoundError), open(boot_path) as f:
        if value := f.read().strip():
            return value
    value = f"{os.getpid()}-{time.time_ns():x}"
    with open(boot_path + ".tmp", "w") as f:
        f.write(value)
    os.replace(boot_path + ".tmp", boot_path)
    return value


def collect(path: str) -> tuple[str, int, list[Metric]]:
    """(boot id, read time in ns, families) of every worker of this master.

    The read time orders snapshots: reads hold the lock one at a time and
    counters only grow, so a later read never shows a smaller value.
    """
    with directory_lock(path):
        fold_dead(path)
        read_ns = time.time_ns()
        files = glob.glob(os.path.join(path, "*.db"))
        families = list(MultiProcessCollector.merge(files, accumulate=True))
        return boot_id(path), read_ns, families


def clear(path: str) -> None:
    """Master start: remove earlier metric files and the generation mark."""
    os.makedirs(path, exist_ok=True)
    for stale in glob.glob(os.path.join(path, "*.db")):
        os.remove(stale)
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(path, BOOT_FILE))
