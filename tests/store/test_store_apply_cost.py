"""What applying a batch costs the database: a fixed number of statements, whatever the number of occurrences.

An initial sync applies one batch per mailbox with all of its window's occurrences; on SQLite every statement is
several round trips through aiosqlite's thread while the store's write turn is held, so statements per row would
make the writers queue behind one another.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from store_builders import ALICE, BOB, CAROL, MONDAY_9, meeting, put

from tc_calendar.model import ChangeKind
from tc_calendar.store import ConfiguredMailbox, Store
from tc_calendar.sync.actions import Action, RecordSyncSuccess, SaveCheckpoint

WEEK = (MONDAY_9, MONDAY_9 + timedelta(days=7))


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_: Any) -> None:
        self.count += 1


@pytest.fixture
def statements() -> Iterator[StatementCounter]:
    counter = StatementCounter()
    event.listen(Engine, "before_cursor_execute", counter)
    yield counter
    event.remove(Engine, "before_cursor_execute", counter)


def first_sync_of(mailbox: str, meetings: int, prefix: str) -> list[Action]:
    """A first window sync: ``meetings`` new meetings with two attendees each, the checkpoint and the success."""
    puts: list[Action] = [
        put(mailbox, meeting(f"{prefix}-{n}", start=MONDAY_9 + timedelta(hours=n), organizer=mailbox,
                             attendees=(BOB, CAROL)))
        for n in range(meetings)
    ]  # fmt: skip
    return [*puts, SaveCheckpoint(mailbox, "state", *WEEK), RecordSyncSuccess(mailbox)]


async def cost_of(store: Store, statements: StatementCounter, actions: list[Action]) -> int:
    before = statements.count
    await store.apply(actions)
    return statements.count - before


async def test_a_first_sync_costs_as_many_statements_for_two_hundred_meetings_as_for_three(
    store: Store, statements: StatementCounter
) -> None:
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE), ConfiguredMailbox(BOB)])

    small = await cost_of(store, statements, first_sync_of(ALICE, 3, "small"))
    large = await cost_of(store, statements, first_sync_of(BOB, 200, "large"))

    assert large == small
    assert small <= 12


async def test_every_occurrence_of_a_large_batch_keeps_its_own_attendees_and_entry(store: Store) -> None:
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE)])
    batch = [
        put(ALICE, meeting(f"m-{n:03d}", start=MONDAY_9 + timedelta(minutes=n), attendees=(f"guest{n}@example.com",)))
        for n in range(300)
    ]

    changes = await store.apply(batch)

    for action in batch[::37]:
        stored = await store.get_occurrence(action.occurrence.key)
        assert stored == action.occurrence
    assert [(c.kind, c.key) for c in changes] == [(ChangeKind.UPSERT, a.occurrence.key) for a in batch]
    assert [c.cursor for c in changes] == sorted(c.cursor for c in changes)
    assert await store.changes_after(0) == changes
