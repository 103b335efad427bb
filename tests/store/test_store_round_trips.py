"""On PostgreSQL a store call of one statement is one round trip to the server: no BEGIN, COMMIT or ROLLBACK.

Every sync cycle of every mailbox reads what is stored of it and may set its state; on a busy connector each round
trip is also a wait for the event loop to come round (bench/store_trips.py). Reads of several statements still see
one snapshot, and writes of several still commit together.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from store_builders import ALICE, MONDAY_9, meeting, put

from tc_calendar.store import ConfiguredMailbox, MailboxNotFoundError, MailboxState, Store

pytestmark = pytest.mark.postgres


@pytest.fixture
def simple_queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The simple queries the driver sends (asyncpg sends BEGIN, COMMIT and ROLLBACK this way), by text."""
    sent: list[str] = []
    execute = asyncpg.connection.Connection.execute

    async def watched(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:
            sent.append(query.strip().rstrip(";").upper())
        return await execute(self, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.connection.Connection, "execute", watched)
    yield sent


@pytest.fixture
async def store(postgres_database_url: str) -> Any:
    async with Store.open(postgres_database_url) as opened:
        await opened.register_config_mailboxes([ConfiguredMailbox(ALICE)])
        await opened.apply([put(ALICE, meeting("standup", title="Stand-up", start=MONDAY_9))])
        yield opened


async def test_reads_of_one_statement_take_no_transaction(store: Store, simple_queries: list[str]) -> None:
    simple_queries.clear()

    views = await store.stored_views(ALICE)
    changes = await store.changes_after(0)
    status = await store.get_mailbox(ALICE)

    assert len(views) == 1 and changes and status is not None
    assert simple_queries == []


async def test_a_calendar_view_is_still_read_in_one_snapshot(store: Store, simple_queries: list[str]) -> None:
    simple_queries.clear()

    view = await store.load_view(ALICE, MONDAY_9.replace(hour=0), MONDAY_9.replace(hour=23))

    assert [occurrence.title for occurrence, _ in view] == ["Stand-up"]
    assert simple_queries == ["BEGIN ISOLATION LEVEL REPEATABLE READ", "ROLLBACK"]


async def test_a_write_of_one_statement_commits_by_itself(store: Store, simple_queries: list[str]) -> None:
    simple_queries.clear()

    await store.set_mailbox_state(ALICE, MailboxState.ERROR)

    assert simple_queries == []
    status = await store.get_mailbox(ALICE)
    assert status is not None and status.state is MailboxState.ERROR
    with pytest.raises(MailboxNotFoundError):
        await store.set_mailbox_state("nobody@example.com", MailboxState.OK)


async def test_a_sync_batch_still_commits_as_one_transaction(store: Store, simple_queries: list[str]) -> None:
    simple_queries.clear()

    await store.apply([put(ALICE, meeting("review", start=MONDAY_9.replace(hour=14)))])

    assert simple_queries[0] == "BEGIN" and simple_queries[-1] == "COMMIT"
