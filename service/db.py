"""Engine options per backend, and a hard time bound for database calls.

SQLite (development default) runs in WAL mode with a busy timeout; every
transaction starts with BEGIN IMMEDIATE so that a read-then-write transaction
(the leader lease, claiming mail) cannot fail half-way with SQLITE_BUSY when
another process wrote in between. PostgreSQL goes through psycopg 3 with
short connect and statement timeouts so a sick database shows up as an error,
not as a hung worker.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from flask import Flask, current_app
from sqlalchemy import DateTime, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Engine, Result
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeDecorator

from .config import Settings
from .extensions import db

T = TypeVar("T")
SQLITE_BUSY_TIMEOUT_SECONDS = 5.0
# At most this many calls per process may be stuck on a hung database at
# once; past that, bounded calls fail at once instead of piling up threads.
# Per request thread: under gthread (WEB_THREADS) several requests of one
# process make bounded calls at the same time, and a fixed number would
# refuse healthy concurrent calls (set_request_threads).
STALLED_CALLS_PER_THREAD = 4


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
    # No pool_pre_ping: it cost a round trip per request (a tenth of a
    # webhook, docs/PERFORMANCE.md). After a database restart the first
    # statement on a dead pooled connection fails instead; that request
    # answers 503 (Stripe retries it), SQLAlchemy drops every connection
    # older than the failure, and pool_recycle bounds their age anyway.
    return {
        "hide_parameters": True,
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


class _BoundedCalls:
    """Long-lived helper threads for `run_bounded`, made on first use in each process.

    Starting a thread per call cost about a tenth of a webhook request (see
    docs/PERFORMANCE.md); a pool keeps the hop and drops the start-up. Its
    size is the number of calls that may be stalled at once, so a call
    never queues behind a stalled one: past that many, calls fail at once.
    """

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0
        self._free = threading.BoundedSemaphore(slots)
        self.in_flight = 0

    def resize(self, slots: int) -> None:
        with self._lock:
            if slots != self.slots:
                self.slots = slots
                self._pool = None  # a new pool and bound on next use; calls in flight finish

    def pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pid != os.getpid():  # threads do not survive fork
                self._pool, self._pid, self.in_flight = None, os.getpid(), 0
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.slots, thread_name_prefix="bounded-db-call")
                self._free = threading.BoundedSemaphore(self.slots)
            return self._pool

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        pool = self.pool()
        if not self._free.acquire(blocking=False):
            raise DatabaseTimeout("earlier database calls are still stalled")
        free = self._free
        with self._lock:
            self.in_flight += 1

        def call() -> T:
            try:
                return fn()
            finally:
                with self._lock:
                    self.in_flight -= 1
                free.release()

        try:
            return pool.submit(call)
        except BaseException:
            with self._lock:
                self.in_flight -= 1
            free.release()
            raise


_BOUNDED = _BoundedCalls(STALLED_CALLS_PER_THREAD)


def set_request_threads(threads: int) -> None:
    """Size the stalled-call bound for `threads` concurrent requests."""
    _BOUNDED.resize(STALLED_CALLS_PER_THREAD * max(threads, 1))


def bounded_calls_in_flight() -> int:
    """Calls started by `run_bounded` that have not returned yet (tests wait on it)."""
    return _BOUNDED.in_flight


def run_bounded(fn: Callable[[], T], timeout: float, app: Flask | None = None) -> T:
    """Run `fn` in its own app context on a helper thread; give up after `timeout`.

    Socket timeouts do not cover a server that accepts and then never answers
    on an already-open connection, so the bound is enforced by the caller
    walking away from the thread. The thread is free again when the driver
    gives up.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug LocalProxy API

    def target() -> T:
        with app.app_context():
            return fn()

    future = _BOUNDED.submit(target)
    try:
        return future.result(timeout)
    except FutureTimeout:
        raise DatabaseTimeout(f"no answer within {timeout:g}s") from None


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


# The connection of the `core_transaction` open in this thread, if any.
_CONNECTION: ContextVar[Connection | None] = ContextVar("core_connection", default=None)


@contextlib.contextmanager
def core_transaction() -> Iterator[Connection]:
    """One transaction on one pooled connection, no ORM session: committed
    when the block ends, rolled back when it raises.

    While it is open, `execute` (and the helpers below built on it) run on
    this connection, so domain code written against `execute` joins the
    transaction. The webhook path runs here: the session's per-request set-up,
    bind lookup per statement and unit-of-work commit cost about a fifth of
    an event's CPU around three statements (docs/profiles/README.md). Code
    inside the block must not use `db.session`: that is another connection
    and another transaction. Opened inside an open one, it joins it.
    """
    joined = _CONNECTION.get()
    if joined is not None:
        yield joined
        return
    with db.engine.connect() as conn, conn.begin():
        token = _CONNECTION.set(conn)
        try:
            yield conn
        finally:
            _CONNECTION.reset(token)


def execute(statement: Executable, parameters: Any = None) -> Result[Any]:
    """Run a statement in the open `core_transaction`, else in the session."""
    conn = _CONNECTION.get()
    if conn is None:
        return db.session.execute(statement, parameters)
    return conn.execute(statement, parameters)


def dialect_name() -> str:
    conn = _CONNECTION.get()
    return (conn if conn is not None else db.session.get_bind()).dialect.name


def conflict_insert(target: Any, bind: Any = None) -> Any:
    """An INSERT that supports ON CONFLICT, for the current (or `bind`'s) dialect."""
    dialect = bind.dialect.name if bind is not None else dialect_name()
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(target)


@functools.lru_cache(maxsize=128)
def _insert_ignoring(table: Any, dialect: str, conflict: tuple[str, ...] | None) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=list(conflict) if conflict else None)
        .returning(*table.primary_key.columns)
    )


def insert_ignoring(table: Any, conflict: tuple[str, ...] | None = None) -> Any:
    """`INSERT ... ON CONFLICT DO NOTHING RETURNING <primary key>` on `table`,
    one statement object per table and dialect: pass the values when
    executing it. Rebuilding the statement per call made SQLAlchemy derive
    its cache key again each time, a cost the size of the statement's own
    round trip on the webhook path (docs/PERFORMANCE.md)."""
    return _insert_ignoring(table, dialect_name(), conflict)


def insert_if_absent(model: Any, conflict: list[str] | None = None, **values: Any) -> bool:
    """Insert one row unless it conflicts (caller commits); True if it was new.
    In the open `core_transaction`, if any, else in the session.

    Decided by RETURNING, not rowcount: for ORM-enabled inserts SQLAlchemy
    2.1 reports no rowcount on psycopg, so `rowcount == 1` was always false
    on PostgreSQL. A Core insert on the table, not an ORM-enabled one: the
    ORM's bulk path costs more than the statement itself. Column defaults
    still apply.
    """
    statement = insert_ignoring(model.__table__, tuple(conflict) if conflict else None)
    return execute(statement, values).first() is not None


def rows_changed(statement: Executable) -> int:
    """Run an UPDATE or DELETE in the current session (caller commits); the
    number of rows it matched. SQLAlchemy promises rowcount for these only."""
    result = db.session.execute(statement)
    return cast("CursorResult[Any]", result).rowcount
