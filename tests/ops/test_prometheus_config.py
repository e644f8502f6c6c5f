"""deploy/prometheus/prometheus.yml: valid, and scrapes the way the runbook says."""

from __future__ import annotations

import re
import shutil

import yaml

from tests.ops.kit import ALERTS, EXAMPLE_CONFIG, load_yaml, promtool


def test_promtool_accepts_the_example_config(tmp_path):
    syntax = promtool("check", "config", "--syntax-only", str(EXAMPLE_CONFIG))
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr

    # A full check also reads the rule files and the token file: give it both.
    config = load_yaml(EXAMPLE_CONFIG)
    token_file = tmp_path / "metrics-token"
    token_file.write_text("a-token")
    for job in config["scrape_configs"]:
        if "authorization" in job:
            job["authorization"]["credentials_file"] = str(token_file)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    full = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert full.returncode == 0, full.stdout + full.stderr
    assert "SUCCESS: 14 rules found" in full.stdout


def test_both_token_styles_keep_labels_and_match_the_target_down_alert():
    config = load_yaml(EXAMPLE_CONFIG)
    assert config["rule_files"] == ["alerts.yml"]
    jobs = config["scrape_configs"]
    by_param = [j for j in jobs if "token" in j.get("params", {})]
    by_bearer = [j for j in jobs if j.get("authorization", {}).get("credentials_file")]
    assert by_param and by_bearer
    assert all(j["authorization"].get("type", "Bearer") == "Bearer" for j in by_bearer)
    alerts = {r["alert"]: r for g in load_yaml(ALERTS)["groups"] for r in g["rules"]}
    scrape_regex = re.search(r'up\{job=~"([^"]+)"\}', alerts["MetricsTargetDown"]["expr"])[1]
    for job in jobs:
        assert job["metrics_path"] == "/metrics"
        assert job["honor_labels"] is True, "job_* families keep their `job` label"
        assert re.fullmatch(scrape_regex, job["job_name"]), job["job_name"]
