"""Many mailboxes writing at once never fail for want of a pooled database connection.

On PostgreSQL every writer of occurrences and of the change log queues behind one lock (commit order is cursor
order). Writers wait for it without holding a connection from the pool, so however many mailboxes sync at once,
reads and other writes still get a connection, and no writer times out waiting for one.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from store_builders import ALICE, BOB, MONDAY_9, meeting, put

from tc_calendar.model import ChangeKind
from tc_calendar.store import Store
from tc_calendar.store.changelog import CHANGE_LOG_LOCK_KEY
from tc_calendar.store.records import ConfiguredMailbox

pytestmark = pytest.mark.postgres

POOL = {"pool_size": 2, "max_overflow": 1, "pool_timeout": 2}
"""A small pool that gives up quickly: three connections, and two seconds to wait for one."""
WRITERS = 12


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").difference_update_query(["schema"]).render_as_string(False)


async def test_writers_waiting_for_the_change_log_leave_connections_to_everyone_else(
    postgres_database_url: str,
) -> None:
    store = Store.open(postgres_database_url, **POOL)
    other_instance = await asyncpg.connect(_dsn(postgres_database_url))
    try:
        await store.register_config_mailboxes([ConfiguredMailbox(ALICE), ConfiguredMailbox(BOB)])
        await store.listen_to_other_instances()  # holds a connection of its own for as long as the store is open
        # Another connector instance on the same database is in the middle of a long write.
        await other_instance.execute("SELECT pg_advisory_lock($1)", CHANGE_LOG_LOCK_KEY)
        writers = [
            asyncio.ensure_future(store.apply([put(ALICE, meeting(f"uid-{n}", start=MONDAY_9 + timedelta(hours=n)))]))
            for n in range(WRITERS)
        ]
        writers.append(asyncio.ensure_future(store.append_change(ChangeKind.CONFERENCE_FAILED, BOB, None, {})))
        readers = [store.load_view(ALICE, MONDAY_9, MONDAY_9 + timedelta(days=1)) for _ in range(WRITERS)]
        others = [store.record_sync_error(BOB, "unrelated"), store.latest_cursor(), store.list_mailboxes()]

        # Reads and writes that do not touch the change log go on while the writers wait for their turn.
        read_results = await asyncio.wait_for(asyncio.gather(*readers, *others, return_exceptions=True), 30)
        assert [r for r in read_results if isinstance(r, BaseException)] == []

        await other_instance.execute("SELECT pg_advisory_unlock($1)", CHANGE_LOG_LOCK_KEY)
        write_results = await asyncio.wait_for(asyncio.gather(*writers, return_exceptions=True), 30)
        assert [r for r in write_results if isinstance(r, BaseException)] == []
        assert len(await store.load_view(ALICE, MONDAY_9, MONDAY_9 + timedelta(days=1))) == WRITERS
    finally:
        await other_instance.close()
        await store.close()
