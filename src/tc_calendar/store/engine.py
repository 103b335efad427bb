"""Turning a database URL into a configured async engine.

URLs are accepted in their plain form (``sqlite:///path/to/db``, ``postgresql://user@host:5432/db``); the async
driver (aiosqlite, asyncpg) is chosen here. A PostgreSQL URL may carry ``?schema=name``: every connection then
works in that schema (``search_path``), which lets several connectors or test runs share one database.

SQLite gets WAL (readers do not block the writer), foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for
transactions opened through :func:`writer` so that read-then-write sequences (leases, claims, apply) are atomic
across connections instead of failing on lock upgrade. A SQLite connection is not discarded when the task using it
is cancelled (see :func:`_configure_sqlite`): its transaction is rolled back as after any other error.

The pool is SQLAlchemy's queue pool, sized here (:data:`POOL_SIZE`, :data:`MAX_OVERFLOW`) so that the store can keep its
callers waiting in the event loop rather than in the pool (:func:`connection_limit`). Every connection it may hand out
is kept open (no overflow): SQLAlchemy closes an overflow connection as soon as it is given back, and with many
mailboxes syncing at once the pool would open and close PostgreSQL connections (a server process, a TLS and
authentication handshake, the driver's type set-up) all the time. The pool hands out the connection given back last
(LIFO), so the connections in use stay warm and the rest idle.

A PostgreSQL connection taken from the pool is checked with a ping only when it has been idle for
:data:`PING_AFTER_IDLE_SECONDS` (SQLAlchemy's ``pool_pre_ping`` pings at every checkout: three round trips, BEGIN,
an empty query and ROLLBACK, before each transaction). A connection that broke while in use, or within that time,
fails its next statement instead: SQLAlchemy then discards every pooled connection opened before the failure, and
the store reports that one operation as a :class:`~tc_calendar.store.errors.DatabaseError`, as during any outage.

On PostgreSQL, rows inserted many at a time without RETURNING (attendees, visibility) go as multi-row ``INSERT ...
VALUES`` statements, as they do with RETURNING, instead of asyncpg's executemany, which has the server execute the
statement once per row (a third of the server's time during an initial sync).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event, exc
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tc_calendar.store.errors import UnsupportedDatabaseError

SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE_OPTION = "tc_calendar_write"
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
#: Connections the pool keeps open once opened, and how many more it opens under load (closed again when given back).
POOL_SIZE = 15
MAX_OVERFLOW = 0
#: A pooled PostgreSQL connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 10.0
_IDLE_SINCE = "tc_calendar_idle_since"


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    """A parsed database URL: the SQLAlchemy URL with its async driver, and the PostgreSQL schema if any."""

    url: URL
    schema: str | None

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of a SQLite URL."""
        return Path(self.url.database) if self.is_sqlite and self.url.database else None


def parse_url(url: str) -> DatabaseTarget:
    """Choose the async driver and take the ``schema`` query parameter out of the URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    schema = parsed.query.get("schema")
    if isinstance(schema, tuple):
        schema = schema[-1]
    parsed = parsed.difference_update_query(["schema"])
    if backend == "sqlite":
        if schema:
            raise UnsupportedDatabaseError("SQLite has no schemas; remove ?schema= from the database URL")
        if parsed.database in (None, "", ":memory:"):
            # Each pooled connection would get a database of its own, and migrations another one.
            raise UnsupportedDatabaseError("an in-memory SQLite database cannot be shared; give a file path")
        return DatabaseTarget(parsed.set(drivername="sqlite+aiosqlite"), None)
    if backend == "postgresql":
        if schema and not _SCHEMA_NAME.fullmatch(schema):
            raise UnsupportedDatabaseError(f"schema name {schema!r} must be a plain SQL identifier")
        return DatabaseTarget(parsed.set(drivername="postgresql+asyncpg"), schema or None)
    raise UnsupportedDatabaseError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url``, configured as the module docstring describes.

    SQL parameters are never logged nor put in error messages: they carry secrets and mail content.
    """
    target = parse_url(url)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", MAX_OVERFLOW)
        kwargs.setdefault("pool_use_lifo", True)
    kwargs.setdefault("hide_parameters", True)
    if target.is_sqlite:
        if target.sqlite_path is not None:
            owner_only_database(target.sqlite_path)
        engine = create_async_engine(target.url, **kwargs)
        _configure_sqlite(engine)
        return engine
    connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
    if target.schema:
        connect_args["server_settings"] = {"search_path": target.schema}
    engine = create_async_engine(target.url, connect_args=connect_args, **kwargs)
    engine.sync_engine.dialect.use_insertmanyvalues_wo_returning = True
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine, PING_AFTER_IDLE_SECONDS)
    return engine


def connection_limit(engine_options: Mapping[str, Any]) -> int | None:
    """How many connections an engine made by :func:`create_engine` with ``engine_options`` hands out at once; None
    when its pool sets no limit (another ``poolclass``, ``max_overflow=-1``)."""
    if "poolclass" in engine_options:
        return None
    size = int(engine_options.get("pool_size", POOL_SIZE))
    overflow = int(engine_options.get("max_overflow", MAX_OVERFLOW))
    return None if size <= 0 or overflow < 0 else size + overflow


def owner_only_database(path: Path) -> None:
    """Create the SQLite file 0600 before SQLite opens it (its -wal and -shm files take its mode), and take group
    and other access away from files an earlier version left readable: they hold the encrypted API secret, the
    TrueConf user cache and everyone's calendar."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError:  # a directory that does not exist or cannot be written: SQLite's own error says it better
        return
    else:
        os.close(descriptor)
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        with contextlib.suppress(OSError):
            if stat.S_IMODE(file.stat().st_mode) & 0o077:
                file.chmod(0o600)


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a pooled connection before handing it out only when it has been idle for ``idle_seconds`` (see the
    module docstring); a failed ping makes the pool discard every connection opened before it, as ``pool_pre_ping``
    does."""
    sync_engine = engine.sync_engine
    dialect = sync_engine.dialect

    @event.listens_for(sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return  # a new connection, or one in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise exc.InvalidatePoolError(f"pooled connection idle for over {idle_seconds} s is gone") from error
            raise


def writer(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (and pool), whose transactions take SQLite's write lock when they begin."""
    return engine.execution_options(**{_WRITE_OPTION: True})


def is_postgresql(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (the driver's implicit BEGIN is deferred and
        # cannot be made IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @event.listens_for(sync_engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        # SQLAlchemy takes a cancelled call for a broken connection and closes it there and then, without a
        # ROLLBACK. SQLite defers closing a connection that has an unfinished statement (the cancelled one, whose
        # cursor the cancellation's traceback keeps) and its transaction keeps the write lock until that cursor is
        # collected: every other writer waits out the busy timeout. Yet aiosqlite's thread finishes the cancelled
        # call and runs the next ones after it, so the connection is sound: kept, it has its cursor closed and its
        # transaction rolled back, as after any other error.
        if isinstance(context.original_exception, asyncio.CancelledError):
            context.is_disconnect = False
