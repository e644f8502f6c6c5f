"""SIGTERM while a job is in flight: the job finishes, then the process exits 0."""

import signal
import subprocess
import sys
import time

SCRIPT = r"""
import sys, time
from datetime import UTC, datetime
from apscheduler.schedulers.blocking import BlockingScheduler
from jobs.runner import GracefulStop

def slow():
    print("job started", flush=True)
    time.sleep(1.5)
    print("job finished", flush=True)

scheduler = BlockingScheduler(timezone="UTC")
now = datetime.now(UTC)
scheduler.add_job(slow, "interval", seconds=60, id="slow", next_run_time=now)
stop = GracefulStop(scheduler)
stop.install()
scheduler.start()
stop.wait()
print("exiting", flush=True)
"""


def test_sigterm_lets_the_job_in_flight_finish():
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "job started"
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.send_signal(signal.SIGTERM)  # a second signal changes nothing
        out, _ = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    lines = [line for line in out.splitlines() if line in ("job finished", "exiting")]
    assert lines == ["job finished", "exiting"]
    assert 0.5 < time.monotonic() - sent < 5
