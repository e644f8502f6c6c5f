"""Every Procfile process fails fast, in one JSON line, on a bad configuration."""

import pytest

from tests.e2e.conftest import json_lines, no_secrets
from tests.helpers import Proc, free_port

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("process_type", ["release", "web", "worker"])
@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"DATABASE_URL": None}, "DATABASE_URL"),
        ({"EMAIL_MAX_ATTEMPTS": "many"}, "EMAIL_MAX_ATTEMPTS"),
    ],
)
def test_bad_configuration_stops_the_process(
    production_env, tmp_path, process_type, change, variable
):
    env = dict(production_env, PORT=str(free_port()))
    for name, value in change.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    proc = Proc(process_type, env, tmp_path / f"{process_type}.log")
    try:
        assert proc.wait(timeout=30) == 2
    finally:
        proc.stop()
    records = json_lines(proc.output())
    assert [r["variable"] for r in records] == [variable]
    no_secrets([proc])


def test_release_applies_migrations_and_logs_the_revision(production_env, tmp_path):
    env = dict(production_env, DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    proc = Proc("release", env, tmp_path / "release.log")
    try:
        assert proc.wait(timeout=60) == 0
    finally:
        proc.stop()
    records = json_lines(proc.output())
    no_secrets([proc])
    final = records[-1]
    assert final["previous_revision"] is None and final["revision"]
    assert "release: database at revision" in final["message"]
