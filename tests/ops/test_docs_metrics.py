"""README and docs/ name only metric families a real scrape shows.

docs/RUNBOOK.md has its own, stricter check (test_runbook.py); this one
covers the other documents: every backticked name shaped like a metric
(by its suffix) must be a family in the scrape. Table names and the JSON
fields of /readyz and the admin API are not metrics.
"""

from __future__ import annotations

import re

import pytest

from service.extensions import db
from tests.helpers import ROOT

DOCUMENTS = [
    ROOT / "README.md",
    *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "RUNBOOK.md"),
]
METRIC_SUFFIXES = (
    "_total", "_seconds", "_timestamp", "_up", "_info", "_messages", "_state",
    "_bucket", "_count", "_sum",
)  # fmt: skip


def metric_like_names(text: str) -> set[str]:
    names = set(re.findall(r"`([a-z][a-z0-9_]*)(?:\{[^`]*\})?`", text))
    return {name for name in names if name.endswith(METRIC_SUFFIXES)}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_metric_names_in_docs_exist(service_names, document):
    not_metrics = set(db.metadata.tables) | service_names.json_keys  # tables, JSON fields
    mentioned = metric_like_names(document.read_text()) - not_metrics
    missing = sorted(m for m in mentioned if m not in service_names.metrics)
    assert not missing, f"{document.name} names metrics /metrics does not have: {missing}"


def test_the_check_notices_an_invented_metric():
    assert metric_like_names("see `email_bounces_total{template}` and `job_state`") == {
        "email_bounces_total",
        "job_state",
    }
