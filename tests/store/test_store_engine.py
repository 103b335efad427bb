"""Database URLs: plain or async driver forms, a PostgreSQL schema, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tc_calendar.store import DatabaseError, Store, UnsupportedDatabaseError, engine
from tc_calendar.store._keys import decode_recurrence_id, encode_recurrence_id
from tc_calendar.store.engine import parse_url
from waiting import eventually


@pytest.mark.parametrize("url", ["sqlite:////var/lib/tc/calendar.db", "sqlite+aiosqlite:////var/lib/tc/calendar.db"])
def test_sqlite_urls_use_aiosqlite(url: str) -> None:
    target = parse_url(url)
    assert (target.url.drivername, target.url.database, target.schema) == (
        "sqlite+aiosqlite",
        "/var/lib/tc/calendar.db",
        None,
    )


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+asyncpg", "postgresql+psycopg"])
def test_postgresql_urls_use_asyncpg_and_keep_the_schema_apart(scheme: str) -> None:
    target = parse_url(f"{scheme}://tc:secret@db.example.com:5432/calendar?schema=tc_calendar")
    assert target.url.drivername == "postgresql+asyncpg"
    assert target.url.password == "secret"
    assert "schema" not in target.url.query
    assert target.schema == "tc_calendar"


@pytest.mark.parametrize(
    "url",
    ["mysql://root@localhost/calendar", "postgresql://db/calendar?schema=x;drop", "sqlite:///a.db?schema=x"],
)
def test_other_databases_and_odd_schema_names_are_refused(url: str) -> None:
    with pytest.raises(UnsupportedDatabaseError):
        parse_url(url)


@pytest.mark.parametrize(
    "value",
    [
        None,
        datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        datetime(2026, 1, 5, 9, 0, 0, 250_000, tzinfo=UTC),
        datetime(2026, 1, 5, 12, 0, tzinfo=timezone(timedelta(hours=3))),
    ],
)
def test_recurrence_ids_round_trip_through_their_key_text(value: datetime | None) -> None:
    assert decode_recurrence_id(encode_recurrence_id(value)) == value


def test_recurrence_id_text_sorts_in_time_order() -> None:
    times = [datetime(2026, 1, d, h, tzinfo=UTC) for d in (9, 10) for h in (8, 23)]
    assert sorted(times, key=encode_recurrence_id) == times
    assert encode_recurrence_id(times[0]) == "20260109T080000Z"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite+aiosqlite:///:memory:"])
def test_in_memory_sqlite_is_refused_because_it_cannot_be_shared(url: str) -> None:
    with pytest.raises(UnsupportedDatabaseError, match="file path"):
        parse_url(url)


async def test_an_unreachable_database_is_a_store_error_naming_the_cause() -> None:
    async with Store.open("postgresql://nobody@127.0.0.1:1/none", connect_args={"timeout": 2}) as store:
        with pytest.raises(DatabaseError, match="database read failed"):
            await store.latest_cursor()



@pytest.mark.postgres
async def test_a_pooled_connection_that_died_while_idle_is_replaced_unseen(
    postgres_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection idle for longer than the ping threshold is checked before use; one the server dropped
    meanwhile (a restart, a firewall's idle timeout) is replaced, and the caller never sees it."""
    monkeypatch.setattr(engine, "PING_AFTER_IDLE_SECONDS", 0.0)  # any pooled connection given back counts as idle
    pool = engine.create_engine(postgres_database_url, pool_size=1, max_overflow=0)
    async with Store(pool) as store:
        assert await store.list_mailboxes() == []
        async with pool.connect() as connection:  # the one pooled connection
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        admin = await asyncpg.connect(_dsn(postgres_database_url))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            await eventually(
                lambda: admin.fetchval("SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1)", pid),
                what="the server to drop the pooled connection",
            )
        finally:
            await admin.close()
        assert await store.list_mailboxes() == []


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").difference_update_query(["schema"]).render_as_string(False)
