"""`core_transaction`: one connection, one transaction, and `execute` joins it."""

from __future__ import annotations

import pytest

from service.db import core_transaction
from service.extensions import db
from service.jobstate import counters

LABELS = {"job": "core-test", "reason": "x"}


def test_commits_on_success_and_rolls_back_everything_on_error(app):
    with app.app_context():
        with core_transaction():
            counters.increment("job_errors_total", LABELS)  # through execute: joins it
        with pytest.raises(RuntimeError), core_transaction():
            counters.increment("job_errors_total", LABELS)
            raise RuntimeError("the unit of work failed")
        assert counters.value("job_errors_total", LABELS) == 1  # read by the session
        db.session.rollback()


def test_one_opened_inside_another_joins_it(app):
    with app.app_context():
        with pytest.raises(RuntimeError), core_transaction() as outer:
            with core_transaction() as inner:
                assert inner is outer
                counters.increment("job_errors_total", LABELS)
            raise RuntimeError("the outer one fails after the inner one ended")
        assert counters.value("job_errors_total", LABELS) == 0  # nothing committed on its own
        db.session.rollback()
