"""A PostgreSQL database of the run's own, created at the start and dropped at the end.

The server is the one the test suite uses (`bin/ensure-services` starts it):
BENCH_DATABASE_URL, else TEST_DATABASE_URL, else root on 127.0.0.1:5432.
Only the database name is new, so parallel runs never share rows.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg

DEFAULT_ADMIN_URL = "postgresql://root@127.0.0.1:5432/postgres"


def admin_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    url = url or DEFAULT_ADMIN_URL
    return url.replace("postgresql+psycopg://", "postgresql://").replace(
        "postgres://", "postgresql://"
    )


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """postgresql://.../bench_<random>, dropped (with its connections) afterwards."""
    admin = admin_url()
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rpartition("/")[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def count(url: str, sql: str) -> int:
    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute(sql).fetchone()
        return int(row[0]) if row else 0


def execute(url: str, sql: str) -> None:
    with psycopg.connect(url, connect_timeout=5) as conn:
        conn.execute(sql)
