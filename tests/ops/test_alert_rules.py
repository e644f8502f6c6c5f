"""deploy/prometheus/alerts.yml: valid, proven by promtool, generated, documented."""

from __future__ import annotations

import re
import subprocess
import sys
from itertools import pairwise

from tests.ops.kit import (
    ALERTS,
    ALERTS_TESTS,
    RENDER_ALERTS,
    alert_rules,
    load_yaml,
    promtool,
    runbook_anchors,
)


def _render(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(RENDER_ALERTS), *args], capture_output=True, text=True, timeout=30
    )


def test_promtool_accepts_the_rules_and_their_tests_pass():
    check = promtool("check", "rules", str(ALERTS))
    assert check.returncode == 0, check.stdout + check.stderr
    tested = promtool("test", "rules", str(ALERTS_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_alerts_yml_is_the_generator_output_with_default_thresholds():
    rendered = _render()
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stdout == ALERTS.read_text(), (
        "alerts.yml is stale: run deploy/prometheus/render_alerts.py > deploy/prometheus/alerts.yml"
    )


def test_thresholds_are_overridable_and_checked(tmp_path):
    rendered = _render("--set", "http_5xx_ratio=0.02", "--set", "circuit_open_for=30m")
    assert rendered.returncode == 0, rendered.stderr
    custom = tmp_path / "alerts.yml"
    custom.write_text(rendered.stdout)
    rules = {r["alert"]: r for g in load_yaml(custom)["groups"] for r in g["rules"]}
    assert ") > 0.02\n" in rules["HTTP5xxRatioHigh"]["expr"]
    assert rules["CircuitStuckOpen"]["for"] == "30m"
    assert "for 30m" in rules["CircuitStuckOpen"]["annotations"]["summary"]
    check = promtool("check", "rules", str(custom))
    assert check.returncode == 0, check.stdout + check.stderr

    for bad, message in (
        ("no_such_threshold=1", "unknown threshold"),
        ("circuit_open_for=ten", "not a Prometheus duration"),
        ("http_5xx_ratio=lots", "not a non-negative number"),
    ):
        result = _render("--set", bad)
        assert result.returncode == 2 and message in result.stderr, (bad, result.stderr)
        assert result.stdout == ""


def test_every_alert_has_for_severity_a_summary_naming_its_labels_and_a_runbook_anchor():
    anchors = runbook_anchors()
    rules = alert_rules()
    assert len(rules) >= 13
    for rule in rules:
        name = rule["alert"]
        assert re.fullmatch(r"[0-9]+[smh]", rule["for"]), name
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        summary = rule["annotations"]["summary"]
        named = set(re.findall(r"\$labels\.(\w+)", summary))
        assert named, f"{name}: the summary names no label"
        grouped = {
            label.strip()
            for group in re.findall(r"\bby \(([^)]*)\)", rule["expr"])
            for label in group.split(",")
        } - {"le"}
        assert grouped <= named, f"{name}: summary should name {grouped - named}"
        url = rule["annotations"]["runbook_url"]
        page, _, anchor = url.partition("#")
        assert page.endswith("docs/RUNBOOK.md"), url
        assert anchor == name.lower() and anchor in anchors, f"{name}: no runbook section {url}"


def _expectations(tests: list[dict]) -> dict[str, list[list[tuple[int, set]]]]:
    """alert -> per promtool test: [(eval minute, {firing label sets})]."""
    out: dict[str, list[list[tuple[int, set]]]] = {}
    for case in tests:
        per_alert: dict[str, list[tuple[int, set]]] = {}
        for check in case.get("alert_rule_test", []):
            minutes = int(check["eval_time"].removesuffix("m"))
            fired = {frozenset(a["exp_labels"].items()) for a in check.get("exp_alerts") or []}
            per_alert.setdefault(check["alertname"], []).append((minutes, fired))
        for alert, checks in per_alert.items():
            out.setdefault(alert, []).append(sorted(checks, key=lambda c: c[0]))
    return out


def test_every_alert_has_a_case_where_it_fires_after_for_and_one_where_it_stays_silent():
    suite = load_yaml(ALERTS_TESTS)
    assert suite["rule_files"] == ["alerts.yml"]
    expectations = _expectations(suite["tests"])
    for rule in alert_rules():
        cases = expectations.get(rule["alert"], [])
        # Fires after its `for:`: absent at one evaluation, firing at a later one.
        assert any(
            later - earlier for checks in cases for (_, earlier), (_, later) in pairwise(checks)
        ), f"{rule['alert']}: no case showing it pending, then firing"
        assert any(all(not fired for _, fired in checks) for checks in cases), (
            f"{rule['alert']}: no case where it must stay silent"
        )
    assert set(expectations) <= {r["alert"] for r in alert_rules()}, "tests name unknown alerts"
