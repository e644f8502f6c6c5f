"""Paths and small readers shared by the operations-kit tests."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import ROOT

PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERTS_TESTS = PROMETHEUS_DIR / "alerts.test.yml"
EXAMPLE_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RENDER_ALERTS = PROMETHEUS_DIR / "render_alerts.py"
DASHBOARD = ROOT / "deploy" / "grafana" / "service-dashboard.json"
RUNBOOK = ROOT / "docs" / "RUNBOOK.md"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def runbook_anchors() -> set[str]:
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", RUNBOOK.read_text(), flags=re.M)
    return {github_anchor(h) for h in headings}


def shorten_for(rules_text: str, duration: str) -> str:
    """The same rules with every `for:` replaced (end-to-end tests cannot wait minutes)."""
    shortened, count = re.subn(r"^(\s+for: )\S+$", rf"\g<1>{duration}", rules_text, flags=re.M)
    assert count == rules_text.count("- alert: "), "every alert should have one `for:` line"
    return shortened
