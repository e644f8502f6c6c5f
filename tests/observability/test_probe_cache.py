"""PROBE_CACHE_SECONDS: each worker reuses its database answers for /readyz and
the database-backed /metrics families for that long (0: never)."""

from __future__ import annotations

import pytest

from jobs.cli import run_once
from jobs.schedule import SCHEDULE
from tests.helpers import sample_value


def _run_every_job(app) -> None:
    for spec in SCHEDULE:  # as `python jobs_main.py run NAME` does, with no worker
        output: list[str] = []
        assert run_once(app, spec.id, echo=output.append) == 0, output


def _last_success(client, job: str) -> float | None:
    text = client.get("/metrics").get_data(as_text=True)
    return sample_value(text, "job_last_success_timestamp", job=job)


def test_answers_are_reused_within_the_window(make_app):
    app = make_app(PROBE_CACHE_SECONDS="30")
    client = app.test_client()
    assert client.get("/readyz").get_json()["status"] == "degraded"  # no heartbeat yet
    assert _last_success(client, SCHEDULE[-1].id) is None
    _run_every_job(app)
    # Within the window: the same answers, without asking the database again.
    assert client.get("/readyz").get_json()["status"] == "degraded"
    assert _last_success(client, SCHEDULE[-1].id) is None


def test_zero_asks_the_database_every_time(make_app):
    app = make_app(PROBE_CACHE_SECONDS="0")
    client = app.test_client()
    assert client.get("/readyz").get_json()["status"] == "degraded"
    assert _last_success(client, SCHEDULE[-1].id) is None
    _run_every_job(app)
    assert client.get("/readyz").get_json()["status"] == "ok"
    assert _last_success(client, SCHEDULE[-1].id) is not None


@pytest.mark.parametrize("value", ["-1", "61", "soon"])
def test_bad_values_stop_start_up(make_app, value):
    from service.config import ConfigError

    with pytest.raises(ConfigError, match="PROBE_CACHE_SECONDS"):
        make_app(PROBE_CACHE_SECONDS=value)
