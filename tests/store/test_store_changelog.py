"""The change log: clients resume from a cursor and see every change once, in commit order."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from store_builders import ALICE, BOB, CAROL, MONDAY_9, meeting, put

from tc_calendar.model import Change, ChangeKind, Response
from tc_calendar.store import Store
from tc_calendar.store.changelog import NewChange, append, serialize_writers
from tc_calendar.store.engine import create_engine, writer


async def _read_all(store: Store, cursor: int, users: set[str] | None = None, page: int = 3) -> list[Change]:
    """What a client sees when it reads in pages of ``page`` entries, resuming from the last cursor each time."""
    seen: list[Change] = []
    while batch := await store.changes_after(cursor, users, limit=page):
        seen.extend(batch)
        cursor = batch[-1].cursor
    return seen


async def _make_history(store: Store) -> list[Change]:
    written: list[Change] = []
    for hour in range(5):
        occurrence = meeting(f"uid-{hour}", start=MONDAY_9 + timedelta(hours=hour), attendees=(BOB, CAROL))
        written += await store.apply([put(ALICE, occurrence), put(BOB, occurrence), put(CAROL, occurrence)])
        written.append(await store.append_change(ChangeKind.CONFERENCE_FAILED, ALICE, None, {"error": "refused"}))
    written += await store.apply([put(BOB, meeting("uid-0", attendees=(BOB, CAROL)), response=Response.ACCEPTED)])
    return written


async def test_reading_in_pages_gives_every_change_once_in_cursor_order(store: Store) -> None:
    written = await _make_history(store)

    seen = await _read_all(store, 0)

    assert seen == written
    assert [c.cursor for c in seen] == sorted({c.cursor for c in seen})
    assert await store.latest_cursor() == written[-1].cursor


async def test_a_client_resumes_exactly_after_its_last_cursor(store: Store) -> None:
    written = await _make_history(store)
    middle = written[len(written) // 2].cursor

    assert await _read_all(store, middle) == [c for c in written if c.cursor > middle]
    assert await store.changes_after(written[-1].cursor) == []


async def test_a_client_can_follow_some_users_only(store: Store) -> None:
    written = await _make_history(store)

    assert await _read_all(store, 0, {BOB.upper()}) == [c for c in written if c.user == BOB]
    assert await store.changes_after(0, set()) == []


async def test_non_event_changes_carry_their_payload(store: Store) -> None:
    key = meeting().key
    change = await store.append_change(ChangeKind.CONFERENCE_STARTED, ALICE, key, {"conference_id": "team"})

    [stored] = await store.changes_after(0)
    assert stored == change
    assert (stored.kind, stored.key, stored.payload) == (ChangeKind.CONFERENCE_STARTED, key, {"conference_id": "team"})


async def test_pruned_entries_are_gone_and_their_cursors_never_come_back(store: Store) -> None:
    first = await store.append_change(ChangeKind.CONFERENCE_FAILED, ALICE)
    assert await store.prune_changes(first.at + timedelta(seconds=1)) == 1

    second = await store.append_change(ChangeKind.CONFERENCE_FAILED, ALICE)

    assert second.cursor > first.cursor
    assert await store.changes_after(0) == [second]
    assert await store.pruned_through() == first.cursor  # a client resuming from below it must reload


async def test_the_log_remembers_how_far_it_was_pruned_so_old_cursors_can_be_refused(store: Store) -> None:
    assert await store.pruned_through() == 0
    first = await store.append_change(ChangeKind.CONFERENCE_FAILED, ALICE)
    second = await store.append_change(ChangeKind.CONFERENCE_FAILED, BOB)
    assert await store.prune_changes(second.at + timedelta(seconds=1)) == 2

    assert await store.pruned_through() == second.cursor > first.cursor
    assert await store.latest_cursor() == second.cursor  # an emptied log does not send subscribers back to 0
    assert await store.prune_changes(second.at + timedelta(seconds=1)) == 0
    assert await store.pruned_through() == second.cursor


@pytest.mark.postgres
async def test_an_append_waits_until_an_earlier_appender_has_committed(postgres_database_url: str) -> None:
    """Otherwise the later entry (higher cursor) could be read first and the earlier one skipped for ever."""
    engine = create_engine(postgres_database_url)
    try:
        async with Store.open(postgres_database_url) as other:
            async with writer(engine).begin() as connection:
                await serialize_writers(connection)
                [first] = await append(connection, [NewChange(ChangeKind.CONFERENCE_FAILED, ALICE, None)], MONDAY_9)
                later = asyncio.create_task(other.append_change(ChangeKind.CONFERENCE_FAILED, BOB))
                await asyncio.sleep(0.3)
                assert not later.done()
                assert await other.changes_after(0) == []
            second = await later
            assert second.cursor > first.cursor
            assert [c.cursor for c in await other.changes_after(0)] == [first.cursor, second.cursor]
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_reader_following_concurrent_writers_misses_nothing(postgres_database_url: str) -> None:
    """Writers on separate engines commit in an order unrelated to when they drew their cursors.

    The reader polls as a WebSocket client would; because appends are serialized until commit, a cursor it has
    passed can never be filled in later.
    """
    writers = [Store.open(postgres_database_url) for _ in range(4)]
    reader = Store.open(postgres_database_url)
    done = asyncio.Event()
    seen: list[Change] = []

    async def write(store: Store, n: int) -> list[Change]:
        changes = []
        for i in range(15):
            changes += await store.apply([put(ALICE, meeting(f"w{n}-{i}"))])
            await asyncio.sleep(0)
        return changes

    async def follow() -> None:
        cursor = 0
        while not done.is_set() or (await reader.changes_after(cursor, limit=1)):
            batch = await reader.changes_after(cursor, limit=7)
            seen.extend(batch)
            cursor = batch[-1].cursor if batch else cursor

    try:
        follower = asyncio.create_task(follow())
        results = await asyncio.gather(*(write(store, n) for n, store in enumerate(writers)))
        done.set()
        await follower
    finally:
        for store in [*writers, reader]:
            await store.close()

    written = sorted((c for changes in results for c in changes), key=lambda c: c.cursor)
    assert seen == written
