#!/usr/bin/env python3
"""Render the Prometheus alert rules for billing-notifier.

    python deploy/prometheus/render_alerts.py > deploy/prometheus/alerts.yml
    python deploy/prometheus/render_alerts.py --set http_5xx_ratio=0.02 > my-alerts.yml
    python deploy/prometheus/render_alerts.py --list

The thresholds where teams differ live in THRESHOLDS, each with a default and
a line saying what it means; `--set NAME=VALUE` overrides one. Everything
else follows from the service's metrics contract (names and labels are fixed).
The committed alerts.yml is this script's output with the defaults (a test
keeps the two in step) and alerts.test.yml proves those defaults with
`promtool test rules`: re-run it after changing a default.

Aggregation: families the web tier reads from the database (job_*, email_*,
circuit_state) are the same on every web instance, so alerts take `max`
across instances; per-process families (http_*, webhook_*) are summed.
Scrape with `honor_labels: true` (see prometheus.yml) so the `job` label of
the job_* families is not renamed to `exported_job`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

# name: (default, what it means). Durations are Prometheus durations (30s, 5m, 1h).
THRESHOLDS: dict[str, tuple[str, str]] = {
    "scrape_job_regex": ("billing-notifier.*", "Prometheus scrape job(s) of the web tier"),
    "runbook_base": ("docs/RUNBOOK.md", "URL of docs/RUNBOOK.md where your team reads it"),
    "http_5xx_ratio": ("0.05", "share of a path's requests answered 5xx (5m rate)"),
    "http_min_rps": ("0.05", "a path needs this many requests/s before its 5xx ratio counts"),
    "http_5xx_for": ("5m", "how long the 5xx ratio must hold before the warning"),
    "http_5xx_escalate_for": ("15m", "how long before it pages (the runbook escalates at 15m)"),
    "http_p99_seconds": ("1", "p99 latency of a path, seconds (5m window)"),
    "http_p99_for": ("10m", "how long p99 must stay above it"),
    "webhook_errors_per_second": ("0.01", "webhook errors/s of one type (0.01 = 3 per 5m)"),
    "webhook_errors_for": ("10m", "how long that rate must hold"),
    "email_failed_ratio": ("0.25", "share of a template's send attempts that failed (15m)"),
    "email_failed_for": ("15m", "how long that share must hold"),
    "email_dead_growth": ("0", "new dead letters within 30m that alert (0 = any)"),
    "email_dead_for": ("5m", "how long the dead count must stay grown"),
    "dlq_pending_growth": ("10", "growth of the pending dead letters within 30m"),
    "dlq_pending_for": ("15m", "how long that growth must hold"),
    "email_complaints_per_hour": ("5", "spam complaints reported by the provider within 1h"),
    "email_complaints_for": ("5m", "how long that count must hold"),
    "heartbeat_stale_for": ("1m", "how long a heartbeat may stay past its TTL"),
    "job_errors_increase": ("5", "errors of one job and reason within 10m"),
    "job_errors_for": ("5m", "how long that error count must hold"),
    "job_success_ttl_multiple": ("3", "no success for this many heartbeat TTLs of the job"),
    "job_success_for": ("5m", "how long a job may go without success past that"),
    "circuit_open_for": ("10m", "how long a circuit may stay open or half-open"),
    "target_down_for": ("2m", "how long a scrape may fail (down, 401) before paging"),
    "metrics_database_down_for": ("2m", "how long /metrics may miss the database"),
}

_HTTP_5XX_RATIO = """\
(
  sum by (path) (rate(http_5xx_total[5m]))
  / sum by (path) (rate(http_request_latency_seconds_count[5m]))
) > %(http_5xx_ratio)s
and sum by (path) (rate(http_request_latency_seconds_count[5m])) > %(http_min_rps)s"""

# (group, [(alert, expr, for-threshold, severity, summary)]); the runbook
# anchor is the alert name in lower case (its heading in docs/RUNBOOK.md).
GROUPS: list[tuple[str, list[tuple[str, str, str, str, str]]]] = [
    (
        "billing-notifier-http",
        [
            (
                "HTTP5xxRatioHigh",
                _HTTP_5XX_RATIO,
                "http_5xx_for",
                "warning",
                "{{ $value | humanizePercentage }} of requests to path {{ $labels.path }}"
                " answer 5xx",
            ),
            (
                "HTTP5xxRatioHighPersistent",
                _HTTP_5XX_RATIO,
                "http_5xx_escalate_for",
                "critical",
                "5xx on path {{ $labels.path }} for over %(http_5xx_escalate_for)s"
                " ({{ $value | humanizePercentage }}): escalate",
            ),
            (
                "HTTPLatencyP99High",
                "histogram_quantile(0.99,\n"
                "  sum by (path, le) (rate(http_request_latency_seconds_bucket[5m]))\n"
                ") > %(http_p99_seconds)s",
                "http_p99_for",
                "warning",
                "p99 latency of path {{ $labels.path }} is {{ $value | humanizeDuration }}",
            ),
        ],
    ),
    (
        "billing-notifier-webhooks",
        [
            (
                "WebhookErrorsSustained",
                "max by (type) (rate(webhook_errors_total"
                '{type=~"invalid_signature|payload_mismatch|processing_error"}[5m]))\n'
                "> %(webhook_errors_per_second)s",
                "webhook_errors_for",
                "warning",
                "Stripe webhook errors of type {{ $labels.type }}"
                ' at {{ $value | printf "%%.2g" }}/s',
            ),
        ],
    ),
    (
        "billing-notifier-email",
        [
            (
                "EmailFailureRatioHigh",
                '(\n  max by (template) (rate(email_notifications_total{status="failed"}[15m]))\n'
                "  / max by (template) (\n"
                "    sum without (status) (rate(email_notifications_total[15m]))\n"
                "  )\n"
                ") > %(email_failed_ratio)s",
                "email_failed_for",
                "warning",
                "{{ $value | humanizePercentage }} of template {{ $labels.template }}"
                " send attempts fail",
            ),
            (
                "EmailDeadLettersGrowing",
                'max by (status) (email_dlq_messages{status="dead"})\n'
                '- max by (status) (email_dlq_messages{status="dead"} offset 30m)\n'
                "> %(email_dead_growth)s",
                "email_dead_for",
                "warning",
                "Dead letters (status {{ $labels.status }}) grew by {{ $value }} in 30m:"
                " retries are exhausted",
            ),
            (
                "EmailDLQPendingGrowing",
                'max by (status) (email_dlq_messages{status="pending"})\n'
                '- max by (status) (email_dlq_messages{status="pending"} offset 30m)\n'
                "> %(dlq_pending_growth)s",
                "dlq_pending_for",
                "warning",
                "Dead-letter queue (status {{ $labels.status }}) grew by {{ $value }} in 30m:"
                " retries are not draining it",
            ),
            (
                "EmailComplaintsSpike",
                'max by (event) (increase(email_provider_events_total{event="spamreport"}[1h]))\n'
                "> %(email_complaints_per_hour)s",
                "email_complaints_for",
                "warning",
                "{{ $value | humanize }} provider events of type {{ $labels.event }}"
                " (spam complaints) in 1h: stop and check what was sent",
            ),
        ],
    ),
    (
        "billing-notifier-jobs",
        [
            (
                "JobHeartbeatStale",
                "(\n  time() - max by (job) (job_last_heartbeat_timestamp)\n"
                "  > max by (job) (job_heartbeat_ttl_seconds)\n)\n"
                "or max by (job) (job_runner_up) == 0",
                "heartbeat_stale_for",
                "critical",
                "Job {{ $labels.job }} has no heartbeat within its TTL"
                " (worker down, wedged or without the lease)",
            ),
            (
                "JobErrorsSpike",
                "max by (job, reason) (increase(job_errors_total[10m])) > %(job_errors_increase)s",
                "job_errors_for",
                "warning",
                'Job {{ $labels.job }} failed {{ $value | printf "%%.0f" }} times in 10m'
                " with reason {{ $labels.reason }}",
            ),
            (
                "JobNoRecentSuccess",
                "(\n  time() - max by (job) (job_last_success_timestamp)\n"
                "  > %(job_success_ttl_multiple)s * max by (job) (job_heartbeat_ttl_seconds)\n)\n"
                "or (\n  max by (job) (job_last_heartbeat_timestamp)\n"
                "  unless max by (job) (job_last_success_timestamp)\n)",
                "job_success_for",
                "warning",
                "Job {{ $labels.job }} runs but has not succeeded for over"
                " %(job_success_ttl_multiple)s heartbeat TTLs",
            ),
        ],
    ),
    (
        "billing-notifier-circuits",
        [
            (
                "CircuitStuckOpen",
                "max by (circuit) (circuit_state) >= 1",
                "circuit_open_for",
                "warning",
                "Circuit {{ $labels.circuit }} has not closed for %(circuit_open_for)s"
                " (state {{ $value }}: 1 open, 2 half-open)",
            ),
        ],
    ),
    (
        "billing-notifier-scrape",
        [
            (
                "MetricsTargetDown",
                'up{job=~"%(scrape_job_regex)s"} == 0',
                "target_down_for",
                "critical",
                "Prometheus cannot scrape {{ $labels.instance }} (job {{ $labels.job }}):"
                " target down or scrape refused (401: wrong METRICS_TOKEN)",
            ),
            (
                "MetricsDatabaseDown",
                "metrics_database_up == 0",
                "metrics_database_down_for",
                "critical",
                "{{ $labels.instance }} cannot read the database: job, email and circuit"
                " metrics are missing from its scrape",
            ),
        ],
    ),
]

_DURATION = re.compile(r"^[0-9]+(ms|s|m|h|d|w|y)$")
_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def settings(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Defaults plus overrides, each checked so a typo fails here, not in Prometheus."""
    values = {name: default for name, (default, _) in THRESHOLDS.items()}
    for name, value in (overrides or {}).items():
        if name not in values:
            raise ValueError(f"unknown threshold {name!r} (see --list)")
        values[name] = value
    for name, value in values.items():
        if name.endswith("_for") and not _DURATION.match(value):
            raise ValueError(f"{name}: {value!r} is not a Prometheus duration like 5m")
        numeric = name not in ("scrape_job_regex", "runbook_base") and not name.endswith("_for")
        if numeric and not _NUMBER.match(value):
            raise ValueError(f"{name}: {value!r} is not a non-negative number")
    return values


def _rule(alert: tuple[str, str, str, str, str], values: dict[str, str]) -> list[str]:
    name, expr, for_key, severity, summary = alert
    lines = [f"      - alert: {name}", "        expr: |"]
    lines += [f"          {line}" for line in (expr % values).splitlines()]
    lines += [
        f"        for: {values[for_key]}",
        "        labels:",
        f"          severity: {severity}",
        "        annotations:",
        f"          summary: {json.dumps(summary % values)}",
        f"          runbook_url: {json.dumps(values['runbook_base'] + '#' + name.lower())}",
    ]
    return lines


def render(overrides: dict[str, str] | None = None) -> str:
    values = settings(overrides)
    lines = [
        "# Alert rules for billing-notifier; see docs/RUNBOOK.md for what to do.",
        "# Generated by deploy/prometheus/render_alerts.py with these thresholds:",
    ]
    lines += [f"#   {name} = {value}" for name, value in values.items()]
    lines.append("groups:")
    for group, alerts in GROUPS:
        lines += [f"  - name: {group}", "    rules:"]
        for alert in alerts:
            lines += _rule(alert, values)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--list", action="store_true", help="print the thresholds and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, (default, meaning) in THRESHOLDS.items():
            print(f"{name:28} {default:20} {meaning}")
        return 0
    overrides = dict(item.partition("=")[::2] for item in args.set)
    try:
        sys.stdout.write(render(overrides))
    except ValueError as exc:
        print(f"render_alerts: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
