"""Alembic environment: runs migrations on a connection handed over by :mod:`tc_calendar.store.migrate`.

The connector passes its own (async engine) connection in ``config.attributes["connection"]`` and the PostgreSQL
schema in ``config.attributes["schema"]``; the version table lives in that schema too. When Alembic's own
command line is used (developers writing a migration), the URL comes from ``-x url=...``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from tc_calendar.store.engine import create_engine, parse_url
from tc_calendar.store.tables import metadata

config = context.config


def run_on(connection: Connection, schema: str | None) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=schema,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_command_line(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_on, parse_url(url).schema)
            await connection.commit()
    finally:
        await engine.dispose()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection, config.attributes.get("schema"))
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("pass the database URL: alembic -x url=sqlite:///path ...")
    if context.is_offline_mode():
        context.configure(url=str(parse_url(url).url), target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(run_from_command_line(url))


main()
