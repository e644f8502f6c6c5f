"""docs/openapi.yaml describes every route, and the app answers as it says.

- The document and the URL map agree (both ways), except the routes listed in
  NOT_DOCUMENTED.
- schemathesis generates requests for every operation, once with valid
  tokens and once without: no 5xx, and every response (status, content type,
  headers, body) matches the document.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.email.sendgrid_events import Signer

from .tokens import ADMIN, METRICS, PROD, bearer

# Routes that are not part of the JSON API: Flask's static files, and the
# operator console's HTML pages (documented in README, not here).
NOT_DOCUMENTED = ("/static/", "/console")
IGNORED_METHODS = {"HEAD", "OPTIONS"}
WEBHOOK_SECRET = "whsec_openapi_fuzz_0123456789abcdef"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(NOT_DOCUMENTED):
            continue
        routes.setdefault(_openapi_path(rule.rule), set()).update(
            m.lower() for m in rule.methods - IGNORED_METHODS
        )
    return routes


@pytest.fixture
def api(make_app):
    return make_app(
        **PROD,
        ADMIN_TOKEN=ADMIN,
        METRICS_TOKEN=METRICS,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        SENDGRID_WEBHOOK_PUBLIC_KEY=Signer().public_key,
    )


def test_openapi_json_is_served_without_a_token(api):
    response = api.test_client().get("/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.1")


def test_every_route_is_documented_and_every_documented_route_exists(api):
    document = api.test_client().get("/openapi.json").get_json()
    documented = {
        path: {m for m in item if m in ("get", "post", "put", "patch", "delete")}
        for path, item in document["paths"].items()
    }
    routes = _routes(api)
    missing = {p: sorted(m - documented.get(p, set())) for p, m in routes.items()}
    missing = {p: m for p, m in missing.items() if m}
    assert not missing, f"routes missing from docs/openapi.yaml: {missing}"
    stale = {p: sorted(m - routes.get(p, set())) for p, m in documented.items()}
    stale = {p: m for p, m in stale.items() if m}
    assert not stale, f"documented but not served: {stale}"


def _run_every_operation(app, headers: dict[str, str], max_examples: int) -> list[str]:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect them all: one report for every operation
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    return failures


@pytest.mark.timeout(120)
@pytest.mark.parametrize("tokens", ["with tokens", "without tokens"])
def test_schemathesis_every_operation(api, tokens):
    headers = bearer(ADMIN) if tokens == "with tokens" else {}
    failures = _run_every_operation(api, headers, max_examples=12)
    assert not failures, "\n\n".join(failures)


@pytest.mark.timeout(60)
def test_schemathesis_metrics_with_its_token(api):
    """/metrics takes its own token; the admin one is refused there."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", api)
    operation = schema["/metrics"]["GET"]

    @given(case=operation.as_strategy())
    @settings(max_examples=5, deadline=None, database=None, derandomize=True)
    def run(case):
        response = case.call_and_validate(headers=bearer(METRICS), checks=CHECKS)
        assert response.status_code in (200, 401)

    run()
