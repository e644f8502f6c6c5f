"""`python -m bench --quick` end to end: every row runs against real servers.

A smoke test, not a performance test: it checks that each benchmark starts
its servers, loads them, and reports a row with a ratio; it never asserts a
figure (the targets are `make bench`'s business, on a quiet machine).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.__main__ import BENCHES, TARGET_MISSED
from tests.helpers import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.single_backend]


@pytest.mark.timeout(240)
def test_quick_mode_runs_every_benchmark(tmp_path):
    report = tmp_path / "PERFORMANCE.md"
    env = {
        **os.environ,
        "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(report)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=230,
    )
    assert done.returncode in (0, TARGET_MISSED), done.stdout[-3000:] + done.stderr[-3000:]
    text = report.read_text()
    for bench in BENCHES:
        assert (f"### {bench.title}" in text) is bench.quick
    results = text.split("## Results", 1)[1].split("## Method", 1)[0]
    rows = [line for line in results.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) > len([b for b in BENCHES if b.quick])
    assert all(line.count("|") == 8 for line in rows)
    assert "A/A control" in text
    assert "nproc:" in text and "command: `python -m bench --quick" in text
