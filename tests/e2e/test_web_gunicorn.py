"""The `web` Procfile line under real Gunicorn with several workers."""

import os
import signal
import uuid

import pytest
import requests

from tests.e2e.conftest import METRICS_TOKEN, json_lines
from tests.helpers import (
    child_pids,
    label_values,
    promtool_check,
    sample_sum,
    sample_value,
    wait_until,
)

pytestmark = pytest.mark.e2e


def _scrape(base: str) -> str:
    response = requests.get(f"{base}/metrics", params={"token": METRICS_TOKEN}, timeout=10)
    assert response.status_code == 200
    return response.text


def _healthz_count(text: str) -> float:
    return (
        sample_sum(
            text,
            "http_request_latency_seconds_count",
            method="GET",
            path="/healthz",
            status_class="2xx",
        )
        or 0
    )


def test_metrics_aggregate_all_workers_and_pass_promtool(start_web, tmp_path):
    proc, base = start_web(workers=3)
    # Every worker booted (each logs this once), or the first takes all requests.
    wait_until(lambda: proc.output().count("web worker started") >= 3, 30, message="3 workers")
    before = _healthz_count(_scrape(base))  # the start-up probe is counted too
    for _ in range(60):  # a fresh connection each: spread over the workers
        assert requests.get(f"{base}/healthz", headers={"Connection": "close"}, timeout=5).ok
    prom_files = {
        f.split("_")[-1] for f in os.listdir(tmp_path / "prom") if f.startswith("histogram_")
    }
    assert len(prom_files) >= 2, "requests should have landed on several workers"

    text = _scrape(base)
    assert _healthz_count(text) - before == 60
    check = promtool_check(text)
    assert check.returncode == 0, check.stdout + check.stderr
    assert sample_value(text, "metrics_database_up") == 1


def test_random_paths_add_one_label_value_at_most(start_web):
    _, base = start_web(workers=2)
    before = label_values(_scrape(base), "http_request_latency_seconds_count", "path")
    for _ in range(200):
        requests.get(f"{base}/{uuid.uuid4().hex}/{uuid.uuid4().hex}", timeout=5)
    after = label_values(_scrape(base), "http_request_latency_seconds_count", "path")
    assert len(after - before - {"/metrics"}) <= 1
    assert "<unmatched>" in after


def test_counters_survive_a_killed_worker(start_web):
    proc, base = start_web(workers=2)
    for _ in range(20):
        requests.get(f"{base}/healthz", headers={"Connection": "close"}, timeout=5)
    before = _healthz_count(_scrape(base))
    assert before >= 20
    victims = child_pids(proc.pid)
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: len(child_pids(proc.pid) - victims) == 2, 20, message="workers respawned")
    after = _healthz_count(_scrape(base))
    assert after == before  # the dead workers' counts are kept, and nothing was added


def test_logs_are_json_and_never_hold_the_token(start_web):
    proc, base = start_web(workers=2)
    requests.get(f"{base}/metrics", params={"token": METRICS_TOKEN, "x": "1"}, timeout=5)
    requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5)
    requests.get(f"{base}/metrics", params={"token": "wrong-guess"}, timeout=5)
    requests.get(f"{base}/healthz", headers={"X-Request-ID": "trace-abc-1"}, timeout=5)
    # Customer addresses in a URL (a suppression's path, a recipient filter).
    requests.delete(f"{base}/v1/admin/suppressions/ada.lovelace@example.com", timeout=5)
    requests.get(f"{base}/console/dead-letters?recipient=grace.hopper%40example.com", timeout=5)
    proc.stop()
    output = proc.output()
    assert METRICS_TOKEN not in output
    assert "wrong-guess" not in output
    assert "lovelace" not in output and "hopper" not in output
    records = json_lines(output)
    access = [r for r in records if r.get("logger") == "gunicorn.access"]
    assert any(r["query"] == "token=[REDACTED]&x=1" for r in access)
    assert any(r["request_id"] == "trace-abc-1" and r["path"] == "/healthz" for r in access)
    assert any(r["path"] == "/v1/admin/suppressions/[address]" for r in access)
    assert any(r["query"] == "recipient=[address]" for r in access)
    assert any("Booting worker" in r["message"] for r in records)


def test_production_start_fails_clearly_without_database_url(production_env, tmp_path):
    from tests.helpers import Proc

    env = {**production_env, "PORT": "0"}
    env.pop("DATABASE_URL")
    proc = Proc("web", env, tmp_path / "web.log")
    try:
        assert proc.wait(timeout=30) != 0
    finally:
        proc.stop()
    records = json_lines(proc.output())
    assert any(r.get("variable") == "DATABASE_URL" for r in records)


def test_master_start_empties_stale_metric_files_only(start_web, tmp_path):
    prom = tmp_path / "prom"
    prom.mkdir()
    (prom / "counter_424242.db").write_bytes(b"left by an earlier master")
    (prom / "keep.txt").write_text("not ours")
    _, base = start_web(workers=1)
    assert not (prom / "counter_424242.db").exists()
    assert (prom / "keep.txt").read_text() == "not ours"
    assert sample_value(_scrape(base), "metrics_database_up") == 1


def test_multiprocess_mode_without_the_variable_set(start_web):
    """Without PROMETHEUS_MULTIPROC_DIR in the environment (as with `make run`),
    gunicorn.conf.py picks a directory before prometheus_client is imported,
    so the workers still write files and one scrape sums them all."""
    _, base = start_web(workers=2, PROMETHEUS_MULTIPROC_DIR=None)
    before = _healthz_count(_scrape(base))
    for _ in range(30):
        assert requests.get(f"{base}/healthz", headers={"Connection": "close"}, timeout=5).ok
    text = _scrape(base)
    assert _healthz_count(text) - before == 30
    assert sample_value(text, "webhook_events_total", result="processed") == 0
