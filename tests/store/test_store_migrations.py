"""Schema migrations: an empty database goes up to head, down to nothing, and up again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.pool import NullPool

from tc_calendar.store import Store, downgrade, downgrade_async, upgrade, upgrade_async
from tc_calendar.store.engine import create_engine, parse_url
from tc_calendar.store.migrate import current_revision, head_revision
from tc_calendar.store.tables import metadata

STORE_TABLES = {table.name for table in metadata.sorted_tables}


async def _table_names(url: str) -> set[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def _schema_differences(url: str) -> list[object]:
    def compare(connection: Connection) -> list[object]:
        # The connection works in the test's schema (search_path), the one compare_metadata calls the default.
        context = MigrationContext.configure(connection)
        return list(compare_metadata(context, metadata))

    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


async def test_migrations_go_up_to_head_down_to_base_and_up_again(empty_database_url: str) -> None:
    url = empty_database_url
    assert await current_revision(url) is None

    await upgrade_async(url)
    assert await current_revision(url) == head_revision()
    assert await _table_names(url) >= STORE_TABLES

    await downgrade_async(url, "base")
    assert await current_revision(url) is None
    assert not STORE_TABLES & await _table_names(url)

    await upgrade_async(url)
    assert await current_revision(url) == head_revision()


async def test_upgrading_twice_is_harmless(empty_database_url: str) -> None:
    await upgrade_async(empty_database_url)
    await upgrade_async(empty_database_url)
    assert await current_revision(empty_database_url) == head_revision()


async def test_the_migrated_schema_is_the_one_the_code_declares(database_url: str) -> None:
    assert await _schema_differences(database_url) == []


async def test_a_migrated_database_is_usable_after_a_round_trip(empty_database_url: str) -> None:
    await upgrade_async(empty_database_url)
    await downgrade_async(empty_database_url, "base")
    await upgrade_async(empty_database_url)
    async with Store.open(empty_database_url) as store:
        await store.set_meta("first_start", "2026-01-05T09:00:00+00:00")
        assert await store.get_meta("first_start") == "2026-01-05T09:00:00+00:00"


def test_the_command_line_entry_points_migrate_without_an_event_loop(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'dir' / 'calendar.db'}"

    upgrade(url, "head")
    assert asyncio.run(current_revision(url)) == head_revision()
    downgrade(url, "base")
    assert asyncio.run(current_revision(url)) is None


@pytest.mark.postgres
async def test_on_postgresql_everything_lands_in_the_configured_schema(fresh_postgres_url: str) -> None:
    await upgrade_async(fresh_postgres_url)
    schema = parse_url(fresh_postgres_url).schema
    engine = create_engine(fresh_postgres_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            query = text("SELECT table_schema, table_name FROM information_schema.tables WHERE table_name = ANY(:n)")
            names = [*STORE_TABLES, "alembic_version"]
            found = set((await connection.execute(query, {"n": names})).all())
    finally:
        await engine.dispose()
    assert {(s, t) for s, t in found if s == schema} == {(schema, name) for name in names}
