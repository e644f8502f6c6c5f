"""Engine options per backend, and a hard time bound for database calls.

SQLite (development default) runs in WAL mode with a busy timeout; every
transaction starts with BEGIN IMMEDIATE so that a read-then-write transaction
(the leader lease, claiming mail) cannot fail half-way with SQLITE_BUSY when
another process wrote in between. PostgreSQL goes through psycopg 3 with
short connect and statement timeouts so a sick database shows up as an error,
not as a hung worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from flask import Flask, current_app
from sqlalchemy import DateTime, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeDecorator

from .config import Settings
from .extensions import db

T = TypeVar("T")
SQLITE_BUSY_TIMEOUT_SECONDS = 5.0
# At most this many threads per process may be stuck on a hung database at
# once; past that, bounded calls fail at once instead of piling up threads.
# Per request thread: under gthread (WEB_THREADS) several requests of one
# process make bounded calls at the same time, and a fixed 4 would refuse
# healthy concurrent calls (set_request_threads).
STALLED_CALLS_PER_THREAD = 4
_STALLED_CALL_SLOTS = threading.BoundedSemaphore(STALLED_CALLS_PER_THREAD)


def set_request_threads(threads: int) -> None:
    """Size the stalled-call bound for `threads` concurrent requests."""
    global _STALLED_CALL_SLOTS
    _STALLED_CALL_SLOTS = threading.BoundedSemaphore(STALLED_CALLS_PER_THREAD * max(threads, 1))


class DatabaseTimeout(Exception):
    """The database did not answer within the bound."""


def engine_options(settings: Settings) -> dict[str, Any]:
    # hide_parameters: a database error's message carries no bound values
    # (recipient addresses, names, payloads) into logs and tracebacks.
    if settings.database_url.startswith("sqlite"):
        return {
            "hide_parameters": True,
            "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        }
    return {
        "hide_parameters": True,
        "pool_pre_ping": True,
        "pool_size": 5,
        "max_overflow": 5,
        "pool_timeout": 3,
        "pool_recycle": 300,
        "connect_args": {
            "connect_timeout": 2,
            "application_name": f"billing-notifier-{settings.app_env}",
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            "options": "-c statement_timeout=15000 -c lock_timeout=5000"
            " -c idle_in_transaction_session_timeout=60000",
        },
    }


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit
    # transactions would otherwise defer it and break SAVEPOINT).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def init_engine(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)


def run_bounded(fn: Callable[[], T], timeout: float, app: Flask | None = None) -> T:
    """Run `fn` in its own app context on a helper thread; give up after `timeout`.

    Socket timeouts do not cover a server that accepts and then never answers
    on an already-open connection, so the bound is enforced by the caller
    walking away from the thread. The thread ends when the driver gives up.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug LocalProxy API
    slots = _STALLED_CALL_SLOTS  # the one released below, even if resized meanwhile
    if not slots.acquire(blocking=False):
        raise DatabaseTimeout("earlier database calls are still stalled")
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            with app.app_context():
                box["value"] = fn()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc
        finally:
            slots.release()
            done.set()

    threading.Thread(target=target, name="bounded-db-call", daemon=True).start()
    if not done.wait(timeout):
        raise DatabaseTimeout(f"no answer within {timeout:g}s")
    if "error" in box:
        raise box["error"]
    return box["value"]


class UtcDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend.

    SQLite stores no offset and hands back naive values; normalising here
    means comparisons (also SQLAlchemy's in-Python evaluation of bulk
    UPDATEs) never mix naive and aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use service.timeutil.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def conflict_insert(target: Any, bind: Any = None) -> Any:
    """An INSERT that supports ON CONFLICT, for the session's (or `bind`'s) dialect."""
    dialect = (bind if bind is not None else db.session.get_bind()).dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(target)


def insert_if_absent(model: Any, conflict: list[str] | None = None, **values: Any) -> bool:
    """Insert one row unless it conflicts (caller commits); True if it was new.

    Decided by RETURNING, not rowcount: for ORM-enabled inserts SQLAlchemy
    2.1 reports no rowcount on psycopg, so `rowcount == 1` was always false
    on PostgreSQL.
    """
    primary_key = list(model.__table__.primary_key.columns)
    statement = (
        conflict_insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict)
        .returning(*primary_key)
    )
    return db.session.execute(statement).first() is not None


def rows_changed(statement: Executable) -> int:
    """Run an UPDATE or DELETE in the current session (caller commits); the
    number of rows it matched. SQLAlchemy promises rowcount for these only."""
    result = db.session.execute(statement)
    return cast("CursorResult[Any]", result).rowcount
