"""docs/RUNBOOK.md names only things that exist.

Every backticked name in it is resolved against the running code: metric
names, label names and values against a real scrape (after exercising the
app), endpoints against the URL map, `flask` commands against the CLI, job
names against the schedule, JSON fields against real responses, settings
against the config module, alert names against alerts.yml.
"""

from __future__ import annotations

import re

from tests.helpers import ROOT
from tests.ops.kit import EXAMPLE_CONFIG, RUNBOOK, alert_rules, load_yaml

# Prometheus's own names (not the service's), and PromQL / YAML words.
PROMETHEUS_OWN = {"up", "instance", "exported_job"}
PROMQL_WORDS = {
    "sum", "max", "min", "by", "without", "rate", "increase", "delta", "time", "and", "or",
    "unless", "offset", "histogram_quantile", "label_values", "true", "false", "null",
}  # fmt: skip
_PLACEHOLDER = re.compile(r"<[^>]+>|\{[^}]+\}|\b[A-Z]{2,}\b")


def _yaml_keys(doc) -> set[str]:
    if isinstance(doc, dict):
        return set(doc) | {k for v in doc.values() for k in _yaml_keys(v)}
    if isinstance(doc, list):
        return {k for item in doc for k in _yaml_keys(item)}
    return set()


class Resolver:
    def __init__(self, names) -> None:
        self.n = names
        rules = alert_rules()
        self.alerts = {r["alert"] for r in rules}
        self.metrics = names.metrics | PROMETHEUS_OWN
        self.label_values = {k: set(v) for k, v in names.label_values.items()}
        self.jobs = names.jobs
        config = load_yaml(EXAMPLE_CONFIG)
        self.words = (
            self.metrics
            | set(self.label_values)
            | {label for labels in names.metric_labels.values() for label in labels}
            | {v for values in self.label_values.values() for v in values}
            | names.json_keys
            | names.json_values
            | self.jobs
            | {k for r in rules for k in (*r["labels"], *r["annotations"])}
            | {v for r in rules for v in r["labels"].values()}
            | _yaml_keys(config)
            | PROMQL_WORDS
        )
        self.scrape_jobs = {job["job_name"] for job in config["scrape_configs"]}
        self.settings_source = "\n".join(
            (ROOT / f).read_text() for f in ("service/config.py", "gunicorn.conf.py")
        )

    # -- one resolver per kind of name; each returns a problem or None

    def path(self, text: str) -> str | None:
        method, _, path = text.rpartition(" ")
        path = path.split("?")[0]
        mentioned = _PLACEHOLDER.sub("<>", path)
        for rule, methods in self.n.routes:
            pattern = re.escape(_PLACEHOLDER.sub("<>", rule)).replace("<>", "[^/]+")
            if re.fullmatch(pattern, mentioned) or re.fullmatch(pattern, path):
                if method and method not in methods:
                    return f"{text}: {rule} does not answer {method}"
                return None
        return f"{text}: no such route"

    def cli(self, text: str) -> str | None:
        words = text.split("#")[0].split()
        group = words[1] if len(words) > 1 else ""
        if not group:
            return None
        if group not in self.n.cli:
            return f"{text}: no `flask {group}` command"
        command = words[2] if len(words) > 2 else None
        if command is not None and command not in self.n.cli[group]:
            return f"{text}: no `flask {group} {command}`"
        if group == "jobs" and command == "run" and len(words) > 3 and words[3] != "NAME":
            return None if words[3] in self.jobs else f"{text}: no job {words[3]}"
        return None

    def worker_cli(self, text: str) -> str | None:
        words = text.split()[2:]
        if not words:
            return None
        if words[0] != "run" or len(words) < 2:
            return f"{text}: the worker's entry point takes `run NAME`"
        return None if words[1] in self.jobs | {"NAME"} else f"{text}: no job {words[1]}"

    def selector(self, metric: str, matchers: str) -> str | None:
        if metric not in self.metrics:
            return f"no metric {metric}"
        known = self.n.metric_labels.get(metric, set())
        for m in re.finditer(r'(\w+)\s*(?:(=~|!=|=)\s*"([^"]*)")?', matchers):
            label, _, value = m.groups()
            if label not in known:
                return f"{metric} has no label {label}"
            if value and value not in self.label_values.get(label, set()):
                return f"{metric}: no {label}={value!r} seen"
        return None

    def expression(self, text: str) -> list[str]:
        problems = []
        text = re.sub(r"\[[^\]]*\]|\b\d+(\.\d+)?\b", " ", text)
        selectors = r"([a-z_][a-z0-9_]*(?::[a-z0-9_]+)*)(\s*\{[^}]*\})?(\s*\()?"
        text = re.sub(r'"[^"]*"(?![^{]*\})', " ", text)  # strings outside selectors
        for m in re.finditer(selectors, text):
            ident, matchers, call = m.groups()
            if matchers:
                problem = self.selector(ident, matchers.strip()[1:-1])
                if problem:
                    problems.append(f"{text.strip()}: {problem}")
            elif not call and ident not in self.words:
                problems.append(f"{text.strip()}: unknown name {ident}")
        return problems

    def dotted(self, text: str) -> str | None:
        for doc in self.n.documents:
            node = doc
            for part in text.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None:
                return None
        return f"{text}: no such field in /readyz or the admin API"

    def span(self, text: str) -> list[str]:
        text = text.strip()
        checks = [
            (r"\d+", lambda t: None),
            (r"flask( \S+)*", self.cli),
            (r"python jobs_main\.py( \S+)*", self.worker_cli),
            (r"((GET|POST) )?/\S*", self.path),
            (r"[A-Z][A-Z0-9_]{2,}(=\S+)?", self.setting),
            (r"[A-Z]+[a-z]+[A-Za-z0-9]*|HTTP\w+", self.alert),
            (r"[\w-]+\.(py|yml|json|md)", self.file),
            (r"[a-z_]+(\.[a-z_]+)+", self.dotted),
            (r'\w+(=~|!=|=)"[^"]*"', self.matcher),
            (r"[a-z_]+_\*", self.prefix),
            (r"--[\w-]+( \S+)?", self.option),
            (r"[a-z0-9]+(-[a-z0-9]+)+", self.job),
            (r"[a-z0-9<>]+", self.word),
        ]
        for pattern, check in checks:
            if re.fullmatch(pattern, text):
                problem = check(text)
                return [problem] if problem else []
        if re.search(r"[_({]|\s[<>=!]=?\s", text):
            return self.expression(text)
        return []  # prose in backticks (a log message, a header)

    def matcher(self, text: str) -> str | None:
        label, value = re.fullmatch(r'(\w+)(?:=~|!=|=)"([^"]*)"', text).groups()
        seen = self.label_values.get(label, set())
        return None if value in seen else f"{text}: no {label}={value!r} seen"

    def prefix(self, text: str) -> str | None:
        stem = text.rstrip("*")
        return None if any(m.startswith(stem) for m in self.metrics) else f"{text}: no family"

    def option(self, text: str) -> str | None:
        source = (ROOT / "deploy" / "prometheus" / "render_alerts.py").read_text()
        flag = text.split()[0]
        return None if f'"{flag}"' in source else f"{text}: render_alerts.py has no {flag}"

    def setting(self, text: str) -> str | None:
        name = text.split("=")[0]
        return None if f'"{name}"' in self.settings_source else f"{name}: no such setting"

    def alert(self, text: str) -> str | None:
        return None if text in self.alerts else f"{text}: no such alert in alerts.yml"

    def file(self, text: str) -> str | None:
        found = [p for p in ROOT.rglob(text) if ".venv" not in p.parts]
        return None if found else f"{text}: no such file"

    def job(self, text: str) -> str | None:
        return None if text in self.jobs | self.scrape_jobs else f"{text}: no such job"

    def word(self, text: str) -> str | None:
        return None if text in self.words else f"{text}: unknown name"


def _blocks(markdown: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Inline code spans outside fences, and (language, body) of fenced blocks."""
    fences = re.findall(r"^\s*```(\w*)\n(.*?)^\s*```", markdown, flags=re.M | re.S)
    prose = re.sub(r"^\s*```.*?^\s*```", "", markdown, flags=re.M | re.S)
    return re.findall(r"`([^`\n]+)`", prose), fences


def _problems(resolver: Resolver, markdown: str) -> list[str]:
    spans, fences = _blocks(markdown)
    problems = [p for span in spans for p in resolver.span(span)]
    for language, body in fences:
        for line in body.splitlines():
            line = line.split("  #")[0].strip()
            if language == "promql":
                problems += resolver.expression(line)
            elif line.startswith("flask "):
                problems += [p for p in [resolver.cli(line)] if p]
            for url_path in re.findall(r"https?://[^/\s\"]+(/[^\s\"?]*)", line):
                problems += [p for p in [resolver.path(url_path)] if p]
    return problems


def test_every_name_in_the_runbook_exists(service_names):
    resolver = Resolver(service_names)
    problems = _problems(resolver, RUNBOOK.read_text())
    assert not problems, "\n".join(problems)


def test_the_resolver_rejects_names_that_do_not_exist(service_names):
    resolver = Resolver(service_names)
    invented = """
`job_runer_up` `job_runner_up{job="jobs-runer"}` `http_5xx_total{route="/x"}` `degradd`
`/v1/admin/jobz/status` `GET /v1/admin/jobs/<name>/run` `flask jobs restart` `flask jobz status`
`flask jobs run email-send` `JOB_HEARTBEAT_TTL` `JobHeartbeatStal` `database.okay` `email-send`
`python jobs_main.py run email-send` `python jobs_main.py start`
`time() - job_last_heartbeat_timestmp` `render_alert.py`
```promql
rate(http_5xx_totl[5m])
```
```sh
flask dlq list
curl https://api.example.com/v1/admin/jobs/stat
```
"""
    problems = _problems(resolver, invented)
    assert len(problems) == 19, "\n".join(problems)


def test_the_runbook_covers_every_alert_and_the_operator_tools():
    text = RUNBOOK.read_text()
    for rule in alert_rules():
        assert f"### {rule['alert']}\n" in text, f"no section for {rule['alert']}"
    for needed in (
        "`flask jobs status`",
        "`flask jobs run email-dlq`",
        "`python jobs_main.py run NAME`",
        "`POST /v1/admin/jobs/<name>/run`",
        "`GET /v1/admin/jobs/status`",
        "`metrics_database_up`",
        "`service_build_info",
        "`job_heartbeat_ttl_seconds`",
        "`flask dlq list`",
        "`flask dlq replay --all-pending`",
        "`flask dlq replay --status dead`",
        "`flask webhooks reprocess --failed`",
        "`flask circuits reset NAME`",
        "`degraded`",
        "`fail`",
    ):
        assert needed in text, needed
