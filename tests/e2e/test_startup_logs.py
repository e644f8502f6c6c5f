"""Deploy correlation: every process logs what it runs (version, commit) when it starts."""

from __future__ import annotations

import pytest
import requests
from alembic.config import Config
from alembic.script import ScriptDirectory

from tests.e2e.conftest import METRICS_TOKEN, json_lines
from tests.helpers import ROOT, Proc, sample_value, wait_until

pytestmark = pytest.mark.e2e

BUILD = {"BUILD_VERSION": "2.7.1", "BUILD_COMMIT": "9f3c2ab"}


def _lines(proc: Proc, message: str) -> list[dict]:
    return [r for r in json_lines(proc.output()) if r.get("message") == message]


def test_each_gunicorn_worker_logs_version_and_commit_once(start_web):
    proc, base = start_web(workers=2, **BUILD)
    wait_until(lambda: len(_lines(proc, "web worker started")) >= 2, 20, message="2 worker lines")
    ready = requests.get(f"{base}/readyz", timeout=5).json()
    scrape = requests.get(f"{base}/metrics", params={"token": METRICS_TOKEN}, timeout=10).text
    proc.stop()

    workers = _lines(proc, "web worker started")
    assert len(workers) == 2
    assert len({r["process"] for r in workers}) == 2, "one line per worker process"
    assert proc.pid not in {r["process"] for r in workers}
    (master,) = _lines(proc, "web starting")
    assert master["process"] == proc.pid
    for record in [*workers, master]:
        assert (record["version"], record["commit"]) == ("2.7.1", "9f3c2ab")
    # The same build in /readyz and in service_build_info.
    assert ready["build"] == {"version": "2.7.1", "commit": "9f3c2ab"}
    assert sample_value(scrape, "service_build_info", version="2.7.1", commit="9f3c2ab") == 1


def test_worker_logs_version_and_commit_on_start(start_worker):
    worker = start_worker(**BUILD)
    wait_until(lambda: _lines(worker, "worker starting"), 20, message="worker start line")
    # Stop once the scheduler runs: a SIGTERM in the instant before it does
    # is a separate start-up race, not what this test is about.
    wait_until(
        lambda: [r for r in json_lines(worker.output()) if r.get("job") == "jobs-runner"],
        20,
        message="first jobs-runner run",
    )
    assert worker.stop() == 0
    (record,) = _lines(worker, "worker starting")
    assert (record["version"], record["commit"]) == ("2.7.1", "9f3c2ab")
    assert record["process"] == worker.pid


def test_release_logs_the_revision_it_reached(production_env, tmp_path):
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    head = ScriptDirectory.from_config(config).get_current_head()
    release = Proc("release", {**production_env, **BUILD}, tmp_path / "release.log")
    try:
        assert release.wait(timeout=60) == 0, release.output()
    finally:
        release.stop()
    (record,) = [r for r in json_lines(release.output()) if r.get("logger") == "service.release"]
    # The session database is migrated already: the release finds it at head.
    assert record["revision"] == record["previous_revision"] == head
    assert (record["version"], record["commit"]) == ("2.7.1", "9f3c2ab")
