"""Migrations 0005 and 0006: what an upgrade does to mailboxes and events already in the database.

0005: an on-demand mailbox registered before it counts as asked for at the upgrade, so it is not dropped as idle
at the first housekeeping round. 0006: every mailbox reads its window again, so that private events already
cached are recorded as private.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from tc_calendar.store import Store, upgrade_async
from tc_calendar.store._types import UtcDateTime
from tc_calendar.store.engine import create_engine

REQUESTED = datetime(2025, 1, 5, 9, 0, tzinfo=UTC)


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[AsyncConnection]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            yield connection
    finally:
        await engine.dispose()


async def test_mailboxes_from_before_count_as_asked_for_at_the_upgrade_and_read_their_window_again(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await upgrade_async(url, "0003")
    old = sa.table(  # the columns of revision 0003 this test fills in
        "mailboxes",
        *(sa.column(name) for name in ("email", "origin", "state", "sync_state")),
        *(sa.column(name, UtcDateTime()) for name in ("requested_at", "first_seen_at")),
    )
    async with connected(url) as connection:
        await connection.execute(
            old.insert().values(email="old@corp.test", origin="on_demand", state="ok", sync_state="sync-state-1",
                                requested_at=REQUESTED, first_seen_at=REQUESTED)
        )
    before_upgrade = datetime.now(UTC)

    await upgrade_async(url)

    async with Store.open(url) as store:
        mailbox = await store.get_mailbox("old@corp.test")
        assert mailbox is not None and mailbox.last_requested_at is not None
        assert mailbox.last_requested_at >= before_upgrade.replace(microsecond=0)
        starts = await store.load_sync_starts(["old@corp.test"])
        assert starts["old@corp.test"].checkpoint.sync_state is None
