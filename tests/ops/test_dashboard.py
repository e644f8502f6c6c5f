"""deploy/grafana/service-dashboard.json: one row per runbook section, real names only."""

from __future__ import annotations

import json
import re

from tests.ops.kit import DASHBOARD, RUNBOOK, alert_rules, promtool

FILTERS = ("path", "type", "status", "job", "circuit")  # the runbook's drill-down labels
TARGET_LABELS = {"instance", "job"}  # added by Prometheus to every series it scrapes
PROMQL_KEYWORDS = {"and", "or", "unless", "offset", "bool", "by", "without", "on", "ignoring"}


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def _panels(dashboard: dict) -> list[dict]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def _queries(dashboard: dict) -> list[str]:
    exprs = [t["expr"] for p in _panels(dashboard) for t in p["targets"]]
    exprs += [a["expr"] for a in dashboard["annotations"]["list"] if "expr" in a]
    return exprs


def metric_names(expr: str) -> set[str]:
    """Series names a PromQL expression reads (not functions, labels or keywords)."""
    expr = re.sub(r'"[^"]*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", expr)
    names = re.findall(r"(?<![\w$.])([a-zA-Z_][a-zA-Z0-9_:]*)\b(?!\s*\()", expr)
    return set(names) - PROMQL_KEYWORDS


def _labels_of(metric: str, names) -> set[str]:
    if metric == "up":
        return TARGET_LABELS
    return set(names.metric_labels.get(metric, ())) | TARGET_LABELS


def _check_query(expr: str, names) -> list[str]:
    problems = []
    known = names.metrics | {"up"}
    metrics = metric_names(expr)
    problems += [f"{expr!r}: no metric {m}" for m in sorted(metrics - known)]
    for metric, matchers in re.findall(r"([a-zA-Z_]\w*)\s*\{([^}]*)\}", expr):
        for label, value in re.findall(r'(\w+)\s*(?:=~|!=|=)\s*"([^"]*)"', matchers):
            if label not in _labels_of(metric, names):
                problems.append(f"{expr!r}: {metric} has no label {label}")
            if value.startswith("$") and value != f"${label}":
                problems.append(f"{expr!r}: {label} filtered by {value}")
    grouped = {
        label.strip()
        for clause in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr)
        for label in clause.split(",")
    }
    available = set().union(*(_labels_of(m, names) for m in metrics)) if metrics else set()
    problems += [f"{expr!r}: no metric has label {label}" for label in grouped - available]
    return problems


def test_one_row_per_runbook_section_with_the_runbook_filters():
    dashboard = _dashboard()
    headings = set(re.findall(r"^## (.+)$", RUNBOOK.read_text(), flags=re.M))
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    for section in (
        "HTTP 5xx and latency",
        "Stripe webhooks",
        "Email delivery and the dead-letter queue",
        "Job runner health",
        "Circuit breakers",
    ):
        assert section in rows and section in headings, section
    assert set(rows) <= headings, set(rows) - headings
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert set(FILTERS) <= set(variables)
    queries = "\n".join(_queries(dashboard))
    for name in FILTERS:
        assert f'{name}=~"${name}"' in queries, f"${name} filters no panel"
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_every_query_names_metrics_and_labels_that_exist(service_names):
    dashboard = _dashboard()
    problems = [p for expr in _queries(dashboard) for p in _check_query(expr, service_names)]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            metric, label = re.fullmatch(
                r"label_values\((\w+), (\w+)\)", variable["definition"]
            ).groups()
            problems += _check_query(f"sum by ({label}) ({metric})", service_names)
    assert not problems, "\n".join(problems)


def test_the_checks_reject_made_up_names(service_names):
    assert metric_names("sum by (path) (rate(http_5xx_total[5m])) / on() vector(1)") == {
        "http_5xx_total"
    }
    for bad in (
        "rate(http_5xx_totl[5m])",
        'max by (job) (job_runner_up{jobb=~"$job"})',
        'max by (job) (job_runner_up{job=~"$path"})',
        "sum by (route) (rate(http_5xx_total[5m]))",
    ):
        assert _check_query(bad, service_names), bad


def test_every_query_is_valid_promql(tmp_path):
    def concrete(expr: str) -> str:
        return re.sub(r"\$\w+", ".*", expr.replace("$__rate_interval", "5m"))

    rules = [
        {"record": f"dashboard:query_{i}", "expr": concrete(expr)}
        for i, expr in enumerate(_queries(_dashboard()))
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    check = promtool("check", "rules", str(path))
    assert check.returncode == 0, check.stdout + check.stderr


def test_every_alert_has_a_panel():
    described = " ".join(p.get("description", "") for p in _panels(_dashboard()))
    missing = [r["alert"] for r in alert_rules() if r["alert"] not in described]
    assert not missing, missing
