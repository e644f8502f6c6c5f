"""Fixtures: a migrated database per session (SQLite or PostgreSQL), an app per test.

TEST_DATABASE picks the backend (bin/test runs the suite once for each). On
PostgreSQL a fresh database is created for the session and dropped after, so
parallel runs never share rows. The schema is built by running the Alembic
migrations, which tests them. Rows are deleted after each test rather than
rolled back: the service itself opens connections on other threads (bounded
probes) and in other processes, which a per-test transaction cannot cover.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from tests.helpers import SPEC_VARIABLES

for _name in SPEC_VARIABLES:  # a developer's shell must not leak into the tests
    os.environ.pop(_name, None)

from service import create_app  # noqa: E402
from service.config import normalize_database_url  # noqa: E402
from service.extensions import db  # noqa: E402

BACKEND = os.environ.get("TEST_DATABASE", "sqlite")


def _admin_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "postgresql://root@127.0.0.1:5432/test")
    return url.replace("postgresql+psycopg://", "postgresql://").replace(
        "postgres://", "postgresql://"
    )


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    admin = _admin_url()
    name = f"svc_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# PROBE_CACHE_SECONDS=0: tests read /readyz and /metrics right after changing
# what they report (the cache has its own test in tests/observability).
BASE_CONFIG = {"APP_ENV": "test", "LOG_LEVEL": "INFO", "PROBE_CACHE_SECONDS": "0"}


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    from flask_migrate import upgrade

    app = create_app({**BASE_CONFIG, "DATABASE_URL": database_url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


@pytest.fixture(scope="session")
def cleaner(migrated: str) -> Iterator[Engine]:
    engine = create_engine(normalize_database_url(migrated), poolclass=NullPool)
    yield engine
    engine.dispose()


def _clean(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def make_app(migrated: str, cleaner: Engine) -> Iterator[Callable[..., Flask]]:
    """Build an app with overrides (variable names as in README's configuration
    table); rows deleted after the test."""
    apps: list[Flask] = []

    def factory(**overrides: object) -> Flask:
        app = create_app({**BASE_CONFIG, "DATABASE_URL": migrated, **overrides})
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    _clean(cleaner)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def db_session(app: Flask):
    with app.app_context():
        yield db.session
        db.session.rollback()
