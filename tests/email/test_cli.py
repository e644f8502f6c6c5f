"""`flask dlq ...` and `flask email ...` share the admin API's logic."""

from __future__ import annotations

import pytest

from service.email import suppression
from service.extensions import db
from tests.email.helpers import message
from tests.email.test_dlq_api import app, letters  # noqa: F401  (fixtures)


@pytest.fixture
def cli(app):  # noqa: F811
    return app.test_cli_runner()


def test_list(cli, letters):  # noqa: F811
    result = cli.invoke(args=["dlq", "list", "--status", "dead"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [int(line.split("\t")[0]) for line in lines[:-1]] == sorted(letters["dead"])[::-1]
    assert "'pending': 3" in lines[-1] and "'dead': 2" in lines[-1]


def test_show(cli, letters):  # noqa: F811
    result = cli.invoke(args=["dlq", "show", str(letters["dead"][0])])
    assert result.exit_code == 0 and '"attempt_history"' in result.output
    assert cli.invoke(args=["dlq", "show", "999999"]).exit_code == 1


def test_replay_one(app, cli, letters):  # noqa: F811
    result = cli.invoke(args=["dlq", "replay", str(letters["dead"][1])])
    assert result.exit_code == 0 and "queued" in result.output
    with app.app_context():
        assert message(letters["dead"][1]).status == "queued"
    delivered = cli.invoke(args=["dlq", "replay", str(letters["delivered"][0])])
    assert delivered.exit_code == 1 and "already delivered" in delivered.output


def test_replay_all_pending_and_by_status(app, cli, letters):  # noqa: F811
    result = cli.invoke(args=["dlq", "replay", "--all-pending"])
    assert result.exit_code == 0 and "replayed 3" in result.output
    result = cli.invoke(args=["dlq", "replay", "--status", "dead"])
    assert result.exit_code == 0 and "replayed 2" in result.output
    with app.app_context():
        assert {message(i).status for i in letters["pending"] + letters["dead"]} == {"queued"}


@pytest.mark.parametrize(
    "args", [[], ["1", "--all-pending"], ["--all-pending", "--status", "dead"]]
)
def test_replay_usage_errors(cli, args):
    assert cli.invoke(args=["dlq", "replay", *args]).exit_code == 2


def test_suppress_and_unsuppress(app, cli):  # noqa: F811
    assert "suppressed" in cli.invoke(args=["email", "suppress", "Ann@Example.com"]).output
    with app.app_context():
        assert suppression.is_suppressed("ann@example.com")
        db.session.commit()
    assert "removed" in cli.invoke(args=["email", "unsuppress", "ann@example.com"]).output
    with app.app_context():
        assert not suppression.is_suppressed("ann@example.com")
