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
from store_builders import ALICE, BOB, CAROL, MONDAY_9, meeting, put

from tc_calendar.model import ChangeKind
from tc_calendar.store import ConfiguredMailbox, Store
from tc_calendar.store._working_set import _PREFETCH
from tc_calendar.store.changelog import serialize_writers
from tc_calendar.sync.actions import Action, DropOccurrence, PutOccurrence, RecordSyncSuccess, SaveCheckpoint

WEEK = (MONDAY_9, MONDAY_9 + timedelta(days=7))


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_: Any) -> None:
        self.count += 1


@pytest.fixture
def statements(store: Store) -> Iterator[StatementCounter]:
    """Counts the statements of this store's engine only: other tests' servers may still be winding down in the
    same process (parallel runs), and their statements are not this store's cost."""
    counter = StatementCounter()
    engine = store._engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


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
    assert 0 < small <= 12


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


def attendee_then_organizer(prefix: str, meetings: int) -> tuple[list[Action], list[Action]]:
    """Bob's (attendee) copies of Alice's meetings, then Alice's own: every second one retitled since."""
    def version(n: int, title: str) -> Any:
        return meeting(f"{prefix}-{n}", start=MONDAY_9 + timedelta(hours=n), title=title, attendees=(BOB,))

    bobs: list[Action] = [put(BOB, version(n, "Planning")) for n in range(meetings)]
    alices: list[Action] = [
        put(ALICE, version(n, "Planning" if n % 2 else "Planning (moved)")) for n in range(meetings)
    ]
    return bobs, alices


async def test_organizer_copies_taking_over_stored_meetings_cost_as_many_statements_for_two_hundred_as_for_four(
    store: Store, statements: StatementCounter
) -> None:
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE), ConfiguredMailbox(BOB)])
    small_bobs, small_alices = attendee_then_organizer("small", 4)
    large_bobs, large_alices = attendee_then_organizer("large", 200)
    await store.apply([*small_bobs, *large_bobs])

    small = await cost_of(store, statements, small_alices)
    large = await cost_of(store, statements, large_alices)

    assert 0 < large == small
    for action in (large_alices[0], large_alices[1], small_alices[2], small_alices[3]):
        assert isinstance(action, PutOccurrence)
        assert await store.get_occurrence(action.occurrence.key) == action.occurrence


async def test_dropping_two_hundred_meetings_costs_as_many_statements_as_dropping_four(
    store: Store, statements: StatementCounter
) -> None:
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE), ConfiguredMailbox(BOB)])
    small_bobs, small_alices = attendee_then_organizer("small", 4)
    large_bobs, large_alices = attendee_then_organizer("large", 200)
    await store.apply([*small_bobs, *large_bobs, *small_alices, *large_alices])

    def drops(actions: list[Action]) -> list[Action]:
        """Alice drops them all; Bob keeps every second one (the others are then seen by nobody)."""
        keys = [action.occurrence.key for action in actions if isinstance(action, PutOccurrence)]
        return [DropOccurrence(ALICE, key) for key in keys] + [DropOccurrence(BOB, key) for key in keys[::2]]

    small = await cost_of(store, statements, drops(small_alices))
    large = await cost_of(store, statements, drops(large_alices))

    assert 0 < large == small
    assert len(await store.stored_views(BOB)) == 2 + 100
    assert await store.stored_views(ALICE) == {}
    gone = large_alices[0]
    assert isinstance(gone, PutOccurrence) and await store.get_occurrence(gone.occurrence.key) is None


@pytest.mark.postgres
async def test_on_postgresql_the_read_of_stored_meetings_is_one_statement_whatever_the_number_of_meetings(
    postgres_database_url: str,
) -> None:
    """One text for every size, so that the server plans it once per connection (a plan that looks the meetings up by
    their index) instead of planning an ``IN`` list of each length anew, and, for a table that grew since its
    statistics were taken, choosing to read all of it."""
    texts: set[str] = set()

    def remember(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("SELECT occurrences.id") and "WHERE occurrences.uid" in statement:
            texts.add(statement)

    async with Store.open(postgres_database_url) as store:
        await store.register_config_mailboxes([ConfiguredMailbox(ALICE), ConfiguredMailbox(BOB)])
        event.listen(store._engine.sync_engine, "before_cursor_execute", remember)
        await store.apply(first_sync_of(ALICE, 3, "small"))
        await store.apply(first_sync_of(BOB, 40, "large"))
        stored = await store.load_view(BOB, MONDAY_9, MONDAY_9 + timedelta(days=7))

    assert len(texts) == 1
    assert "= ANY" in texts.pop()
    assert len(stored) == 40


@pytest.mark.postgres
async def test_on_postgresql_a_writer_finds_stored_meetings_by_index_in_a_table_grown_past_its_statistics(
    postgres_database_url: str,
) -> None:
    """The plans of a writer's statements are made once per connection and kept: made while the tables were nearly
    empty (an initial sync's start), a plan that reads the whole table stayed in use while they grew."""
    async with Store.open(postgres_database_url) as store:
        await store.register_config_mailboxes([ConfiguredMailbox(ALICE)])
        await store.apply(first_sync_of(ALICE, 400, "bulk"))  # never analyzed: the statistics say nothing
        statement = _PREFETCH.compile(dialect=store._engine.dialect)
        async with store._write(logged=True) as connection:
            await serialize_writers(connection, by_key=True)
            plan = await connection.exec_driver_sql(f"EXPLAIN {statement}", ([f"bulk-{n}" for n in range(40)],))
            lines = [line for (line,) in plan]

    assert not [line for line in lines if "Seq Scan" in line], "\n".join(lines)
