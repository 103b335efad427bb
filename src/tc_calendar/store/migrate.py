"""Applying the schema migrations (Alembic) to a database given by URL.

``upgrade``/``downgrade`` are synchronous entry points for the command line; the service awaits
:func:`upgrade_async` at start. Alembic runs on a connection of the store's own async engine (through
``run_sync``), so the same URL forms and PostgreSQL ``?schema=`` work everywhere. On PostgreSQL a session-level
advisory lock makes instances that start together migrate one after the other instead of racing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from tc_calendar.store.engine import create_engine, parse_url

SCRIPT_LOCATION = "tc_calendar.store:migrations"
#: pg_advisory_lock key held while migrating ("tc-calendar migrate").
MIGRATION_LOCK_KEY = 0x7463_6D69_6772_0001

AlembicCommand = Callable[[Config], None]


def alembic_config() -> Config:
    """Alembic's configuration, built in code so that no ini file has to be found at run time."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


async def upgrade_async(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``.

    A missing SQLite file (and its directory) or PostgreSQL schema is created.
    """
    await _run(url, lambda config: command.upgrade(config, revision))


async def downgrade_async(url: str, revision: str) -> None:
    """Take the database at ``url`` down to ``revision`` (``"base"`` removes every table of the store)."""
    await _run(url, lambda config: command.downgrade(config, revision))


def upgrade(url: str, revision: str = "head") -> None:
    """Synchronous :func:`upgrade_async`, for the command line (not from inside a running event loop)."""
    asyncio.run(upgrade_async(url, revision))


def downgrade(url: str, revision: str) -> None:
    """Synchronous :func:`downgrade_async`, for the command line."""
    asyncio.run(downgrade_async(url, revision))


async def current_revision(url: str) -> str | None:
    """The revision the database is at, ``None`` when it was never migrated."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current_revision, parse_url(url).schema)
    finally:
        await engine.dispose()


def head_revision() -> str | None:
    """The newest revision shipped with this version of the connector."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def _run(url: str, alembic_command: AlembicCommand) -> None:
    target = parse_url(url)
    schema = target.schema
    if target.sqlite_path is not None:
        target.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            postgresql = connection.dialect.name == "postgresql"
            if postgresql:
                await _lock(connection, schema)
            await connection.run_sync(_invoke, alembic_command, schema)
            await connection.commit()
    finally:
        await engine.dispose()


async def _lock(connection: AsyncConnection, schema: str | None) -> None:
    await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    if schema:
        await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    await connection.commit()


def _invoke(connection: Connection, alembic_command: AlembicCommand, schema: str | None) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    alembic_command(config)


def _current_revision(connection: Connection, schema: str | None) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table_schema": schema})
    return context.get_current_revision()
