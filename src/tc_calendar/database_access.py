"""What the commands that open the database (``status``, ``db``, ``api-secret``) say when it cannot be used.

The driver's own words ("Connect call failed ('127.0.0.1', 5441)", "no such table: mailboxes") do not tell an
administrator which setting to look at. Here a failure to reach or use the database becomes one message that
names the database as ``config.json`` describes it (``dbConnectionConfig`` host, port, database and user, or
``sqlitePath``) and what to do.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import Iterator

import asyncpg

from tc_calendar.config import Settings
from tc_calendar.errors import TcCalendarError
from tc_calendar.store.migrate import current_revision

CONNECT_TIMEOUT_SECONDS = 10.0
"""How long a command waits for the database to answer (the driver alone would wait a minute)."""


class DatabaseUnavailableError(TcCalendarError):
    """The database cannot be reached or refuses this connector."""


class DatabaseNotInitializedError(TcCalendarError):
    """The database has no tables of tc-calendar yet."""


def describe_database(settings: Settings) -> str:
    """The database as the administrator configured it, with the keys that say so."""
    db = settings.db_connection_config
    if db is None:
        return f"the SQLite database {settings.sqlite_file} (sqlitePath)"
    return f"the PostgreSQL database {db.database} at {db.host}:{db.port} (dbConnectionConfig)"


async def require_initialized(settings: Settings, answer_within: float = CONNECT_TIMEOUT_SECONDS) -> None:
    """Raise :class:`DatabaseNotInitializedError` unless the schema was created (by ``db upgrade`` or the
    service); never creates anything, not even an empty SQLite file."""
    if settings.db_connection_config is None and not settings.sqlite_file.exists():
        raise _not_initialized(settings)
    try:
        async with asyncio.timeout(answer_within):
            revision = await current_revision(settings.database_url)
    except Exception as exc:
        explained = explain_failure(settings, exc, answer_within)
        if explained is None:
            raise
        raise explained from exc
    if revision is None:
        raise _not_initialized(settings)


def _not_initialized(settings: Settings) -> DatabaseNotInitializedError:
    return DatabaseNotInitializedError(
        f"tc_calendar: the database is not initialized: {describe_database(settings)} has no tc-calendar tables "
        "yet; run tc_calendar db upgrade, or start the service, which does it"
    )


def explain_failure(
    settings: Settings, error: BaseException, timeout: float = CONNECT_TIMEOUT_SECONDS
) -> TcCalendarError | None:
    """The message for a failure to connect to the database, or ``None`` when ``error`` is something else (or
    did not come through the database's libraries: a refused connection to Exchange is not the database's)."""
    if not _through_database_libraries(error):
        return None
    db = settings.db_connection_config
    if db is None:
        for cause in _chain(error):
            if isinstance(cause, sqlite3.OperationalError) and "unable to open" in str(cause):
                return DatabaseUnavailableError(
                    f"tc_calendar: cannot open {describe_database(settings)}: {cause}; check that its directory "
                    "exists and that this user may write there"
                )
        return None
    server = f"PostgreSQL at {db.host}:{db.port} (dbConnectionConfig.host and .port in {settings.config_path})"
    for cause in _chain(error):
        if isinstance(cause, ConnectionRefusedError):
            problem = f"{server} refused the connection; check that PostgreSQL runs there and listens on that port"
        elif isinstance(cause, socket.gaierror):
            problem = f"{server}: the host name {db.host} cannot be resolved ({cause.strerror})"
        elif isinstance(cause, TimeoutError):
            problem = (f"{server} did not answer within {timeout:g} s; check that PostgreSQL runs there and that no "
                       "firewall drops the connection")
        elif isinstance(cause, asyncpg.InvalidCatalogNameError):
            problem = (f"{server} has no database {db.database!r} (dbConnectionConfig.database); create it, for "
                       f"example: createdb -O {db.user} {db.database}")
        elif isinstance(cause, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError):
            problem = (f"{server} refused user {db.user!r} (dbConnectionConfig.user and .password): "
                       f"{str(cause).splitlines()[0]}")
        elif isinstance(cause, OSError) and not isinstance(cause, asyncpg.PostgresError):
            problem = f"{server} cannot be reached: {cause.strerror or cause}"
        else:
            continue
        return DatabaseUnavailableError(f"tc_calendar: cannot connect to the database: {problem}")
    return None


DATABASE_LIBRARIES = ("asyncpg", "sqlalchemy", "aiosqlite", "sqlite3", "alembic")


def _through_database_libraries(error: BaseException) -> bool:
    """Whether ``error``, or one it was raised from, was raised inside the database's libraries."""
    for cause in _chain(error):
        frame = cause.__traceback__
        while frame is not None:
            package = frame.tb_frame.f_globals.get("__name__", "").split(".")[0]
            if package in DATABASE_LIBRARIES:
                return True
            frame = frame.tb_next
    return False


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the exceptions it was raised from, most specific last (as the driver raised them)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
