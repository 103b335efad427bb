"""A write cancelled part way leaves the database free for the next writer.

Tasks that write are cancelled: a sync loop whose lease moved elsewhere, the lease refresher and the sync loops when a
node stops. Wherever the cancellation reaches the write (waiting for a statement, between two, at the commit), the
write's transaction ends with it: the node's own next write and another node's write on the same database go
through at once, while the cancelled task, and the error it ended with, are still around (SyncService.stop releases
its leases before it lets go of the tasks it cancelled).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from store_builders import ALICE, BOB, CAROL, meeting, put

from tc_calendar.model import ChangeKind
from tc_calendar.store import ConfiguredMailbox, Store, engine

NODE = "node-1"
OTHER_NODE = "node-2"
TTL = timedelta(minutes=2)
#: Seconds a writer may wait for another's lock before the test fails (SQLite would wait 30 s, then fail).
LOCK_WAIT = 5

Write = Callable[[Store, int], Awaitable[object]]
WRITES: dict[str, Write] = {
    "renew leases": lambda store, _: store.renew_leases(NODE, TTL),
    "lease mailboxes": lambda store, _: store.lease_mailboxes(NODE, 3, TTL),
    "apply a batch": lambda store, n: store.apply([put(ALICE, meeting(f"uid-{n}"))]),
    "append a change": lambda store, _: store.append_change(ChangeKind.CONFERENCE_FAILED, ALICE, payload={"n": 1}),
}


@pytest.fixture
async def two_nodes(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Store, Store]]:
    """Two stores on one database, as two nodes have, with three mailboxes to lease."""
    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_MS", LOCK_WAIT * 1000)  # a lock left held fails in seconds
    async with Store.open(database_url) as first, Store.open(database_url) as second:
        await first.register_config_mailboxes([ConfiguredMailbox(user) for user in (ALICE, BOB, CAROL)])
        yield first, second


async def _cancelled_at_call(store: Store, write: Write, call: int) -> asyncio.Task[Any]:
    """Run ``write`` on ``store`` and cancel it while it waits for its ``call``-th call to the database (0 is the
    first: a statement, or the commit); the task, done, cancelled unless the write made fewer calls."""
    calls = 0
    task: asyncio.Task[Any] | None = None

    def count(*_: object) -> None:
        nonlocal calls
        if task is None or asyncio.current_task() is not task:
            return  # another store's, or another task's
        if calls == call:  # cancelled from outside, on the loop's next turn: while the call is under way
            asyncio.get_running_loop().call_soon(task.cancel)
        calls += 1

    sync_engine = store._engine.sync_engine
    points = ("before_cursor_execute", "after_cursor_execute", "commit")
    for point in points:
        event.listen(sync_engine, point, count)
    try:
        task = asyncio.create_task(write(store, call))
        await asyncio.wait([task])
    finally:
        for point in points:
            event.remove(sync_engine, point, count)
    return task


@pytest.mark.parametrize("write", WRITES)
async def test_a_write_cancelled_at_any_point_leaves_the_database_free_for_the_next_writers(
    two_nodes: tuple[Store, Store], write: str
) -> None:
    first, second = two_nodes
    call = 0
    while True:
        await first.lease_mailboxes(NODE, 2, TTL)
        task = await _cancelled_at_call(first, WRITES[write], call)
        async with asyncio.timeout(2 * LOCK_WAIT):
            await first.release_lease(NODE)  # this node's next write (as when it stops)
            await second.announce_node(OTHER_NODE, TTL)  # and another node's
        if not task.cancelled():
            assert call > 2, "the write was never cancelled"
            break  # it made fewer calls than that: every point has been tried
        call += 1
