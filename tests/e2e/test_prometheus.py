"""A real Prometheus server scraping the real Gunicorn service, with our alert rules.

Its scrape jobs are the example deploy/prometheus/prometheus.yml pointed at
the service on loopback (so the example itself is proven), plus one job with
a wrong token. The rules are alerts.yml with every `for:` shortened.
"""

from __future__ import annotations

import contextlib
import copy
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.e2e.conftest import METRICS_TOKEN
from tests.helpers import free_port, wait_until
from tests.ops.kit import ALERTS, EXAMPLE_CONFIG, load_yaml, shorten_for

pytestmark = pytest.mark.e2e

WRONG_JOB = "billing-notifier-wrong-token"


def scrape_config(target: str, tmp_path: Path) -> list[dict[str, Any]]:
    """The example's jobs aimed at `target`, with real tokens, plus a wrong-token job."""
    token_file = tmp_path / "metrics-token"
    token_file.write_text(METRICS_TOKEN)
    jobs = []
    for example_job in load_yaml(EXAMPLE_CONFIG)["scrape_configs"]:
        job = copy.deepcopy(example_job)
        job["scheme"] = "http"
        # A target label per job: both scrape the same target, and the job_*
        # families (honor_labels) would otherwise collide as one series.
        job["static_configs"] = [{"targets": [target], "labels": {"via": job["job_name"]}}]
        if "params" in job:
            job["params"]["token"] = [METRICS_TOKEN]
        if "authorization" in job:
            job["authorization"]["credentials_file"] = str(token_file)
        jobs.append(job)
    wrong = copy.deepcopy(next(job for job in jobs if "params" in job))
    wrong.update(job_name=WRONG_JOB, params={"token": ["not-the-token"]})
    wrong["static_configs"][0]["labels"]["via"] = WRONG_JOB
    return [*jobs, wrong]


class Prometheus:
    def __init__(self, base: str) -> None:
        self.base = base

    def api(self, path: str, **params: str) -> Any:
        response = requests.get(f"{self.base}/api/v1/{path}", params=params, timeout=5)
        response.raise_for_status()
        return response.json()["data"]

    def query(self, expr: str) -> dict[str, float]:
        """Instant query -> {scrape job: value}."""
        return {
            r["metric"].get("job", ""): float(r["value"][1])
            for r in self.api("query", query=expr)["result"]
        }

    def rule(self, name: str) -> dict[str, Any]:
        for group in self.api("rules", type="alert")["groups"]:
            for rule in group["rules"]:
                if rule["name"] == name:
                    return rule
        raise AssertionError(f"Prometheus has no rule {name}")

    def alerts(self, name: str) -> list[dict[str, Any]]:
        return [a for a in self.api("alerts")["alerts"] if a["labels"]["alertname"] == name]


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[Callable[..., Prometheus]]:
    """Start Debian's `prometheus` on a free loopback port; stopped after the test."""
    started: list[tuple[subprocess.Popen, Any]] = []

    def start(scrape_configs: list[dict[str, Any]], rules: str) -> Prometheus:
        home = tmp_path / f"prometheus-{len(started)}"
        home.mkdir()
        (home / "alerts.yml").write_text(rules)
        config = {
            "global": {
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "evaluation_interval": "1s",
            },
            "rule_files": ["alerts.yml"],
            "scrape_configs": scrape_configs,
        }
        (home / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        log = open(home / "prometheus.log", "wb")  # noqa: SIM115 (closed below)
        proc = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={home / 'prometheus.yml'}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((proc, log))
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError((home / "prometheus.log").read_text()[-3000:])
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"{base}/-/ready", timeout=1).status_code == 200
            return False

        wait_until(ready, 20, message="prometheus ready")
        return Prometheus(base)

    yield start
    for proc, log in reversed(started):
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def _stale_alert_jobs(prom: Prometheus, state: str) -> set[str]:
    return {a["labels"]["job"] for a in prom.alerts("JobHeartbeatStale") if a["state"] == state}


def test_prometheus_scrapes_with_the_token_and_alerts_on_a_stopped_worker(
    start_web, start_worker, start_prometheus, tmp_path
):
    _, base = start_web(workers=2)
    target = base.removeprefix("http://")
    prom = start_prometheus(scrape_config(target, tmp_path), shorten_for(ALERTS.read_text(), "2s"))

    # The right token (query parameter, or bearer from a file) is let in, a wrong one is not.
    wanted = {"billing-notifier": 1.0, "billing-notifier-bearer": 1.0, WRONG_JOB: 0.0}
    wait_until(lambda: prom.query("up") == wanted, 20, message=f"up == {wanted}")
    targets = {t["labels"]["job"]: t for t in prom.api("targets")["activeTargets"]}
    assert "401" in targets[WRONG_JOB]["lastError"]
    assert targets["billing-notifier"]["lastError"] == ""
    wait_until(
        lambda: {a["labels"]["job"] for a in prom.alerts("MetricsTargetDown")} == {WRONG_JOB},
        15,
        message="MetricsTargetDown for the wrong-token job only",
    )

    # No worker yet: its heartbeat is missing, and the alert says so.
    wait_until(
        lambda: "jobs-runner" in _stale_alert_jobs(prom, "firing"), 15, message="stale: no worker"
    )

    worker = start_worker()
    wait_until(
        lambda: prom.rule("JobHeartbeatStale")["state"] == "inactive",
        30,
        message="JobHeartbeatStale inactive while the worker beats",
    )
    assert prom.query('max by (job) (job_runner_up{job="jobs-runner"})') == {"jobs-runner": 1.0}

    worker.stop()
    assert worker.popen.returncode == 0, worker.output()[-3000:]
    wait_until(
        lambda: (
            "jobs-runner" in _stale_alert_jobs(prom, "pending")
            or "jobs-runner" in _stale_alert_jobs(prom, "firing")
        ),
        20,
        message="JobHeartbeatStale pending after the worker stopped",
    )
    wait_until(
        lambda: "jobs-runner" in _stale_alert_jobs(prom, "firing"),
        15,
        message="JobHeartbeatStale firing after the worker stopped",
    )
    alert = next(a for a in prom.alerts("JobHeartbeatStale") if a["labels"]["job"] == "jobs-runner")
    assert alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["runbook_url"].endswith("RUNBOOK.md#jobheartbeatstale")
    assert "jobs-runner" in alert["annotations"]["summary"]
    # retention runs hourly: its long TTL keeps it quiet through a short outage.
    assert "retention" not in _stale_alert_jobs(prom, "firing")
