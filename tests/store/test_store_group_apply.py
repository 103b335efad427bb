"""Batches that wait for the writer's turn are written in one transaction, and each keeps its own outcome.

Given the first syncs of many mailboxes that see each other's meetings, applied all at once as an initial sync
does: every meeting is stored as its organizer wrote it, every caller gets the change-log entries of its own
batch and nobody else's, the log holds each entry once, and the store used fewer transactions than batches.
A batch that fails in a group fails alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from store_builders import MONDAY_9, meeting, put

from tc_calendar.model import Occurrence
from tc_calendar.store import ConfiguredMailbox, MailboxNotFoundError, Store
from tc_calendar.sync.actions import Action, RecordSyncSuccess, SaveCheckpoint

WEEK = (MONDAY_9, MONDAY_9 + timedelta(days=7))
PEOPLE = [f"user{n:02}@example.com" for n in range(24)]


def organized_by(n: int) -> Occurrence:
    """User n's meeting with the next two users."""
    return meeting(
        f"uid-{n}",
        title=f"Meeting of {PEOPLE[n]}",
        start=MONDAY_9 + timedelta(hours=n % 9),
        organizer=PEOPLE[n],
        attendees=(PEOPLE[(n + 1) % len(PEOPLE)], PEOPLE[(n + 2) % len(PEOPLE)]),
    )


def first_sync(n: int) -> list[Action]:
    """User n's calendar: its own meeting and the two it is invited to, then its checkpoint."""
    mine = PEOPLE[n]
    seen = [organized_by(n), organized_by((n - 1) % len(PEOPLE)), organized_by((n - 2) % len(PEOPLE))]
    return [*(put(mine, occurrence) for occurrence in seen), SaveCheckpoint(mine, "state", *WEEK),
            RecordSyncSuccess(mine)]  # fmt: skip


@pytest.fixture
def commits(store: Store) -> Iterator[list[int]]:
    """Counts this store's commits (other tests' engines in the same process are not counted)."""
    counted = [0]

    def count(*_: Any) -> None:
        counted[0] += 1

    engine = store._engine.sync_engine
    event.listen(engine, "commit", count)
    yield counted
    event.remove(engine, "commit", count)


async def test_an_initial_sync_of_many_mailboxes_at_once_stores_everything_with_each_callers_own_entries(
    store: Store, commits: list[int]
) -> None:
    await store.register_config_mailboxes([ConfiguredMailbox(person) for person in PEOPLE])
    before = commits[0]

    outcomes = await asyncio.gather(*(store.apply(first_sync(n)) for n in range(len(PEOPLE))))

    for n in range(len(PEOPLE)):
        assert await store.get_occurrence(organized_by(n).key) == organized_by(n)
    log = await store.changes_after(0, limit=10_000)
    returned = sorted((change for changes in outcomes for change in changes), key=lambda change: change.cursor)
    assert returned == log  # every entry once, each handed to exactly one caller
    for n, changes in enumerate(outcomes):
        # A first sync tells its own user about the three meetings it brought.
        assert {(c.user, c.key) for c in changes} >= {(PEOPLE[n], organized_by(n).key)}
    assert commits[0] - before < len(PEOPLE)


async def test_a_batch_that_fails_within_a_group_fails_alone_and_the_others_are_stored(store: Store) -> None:
    await store.register_config_mailboxes([ConfiguredMailbox(person) for person in PEOPLE[:3]])
    failing = [put(PEOPLE[1], organized_by(1)), SaveCheckpoint("nobody@example.com", "state", *WEEK)]

    outcomes = await asyncio.gather(
        store.apply(first_sync(0)), store.apply(failing), store.apply(first_sync(2)), return_exceptions=True
    )

    assert isinstance(outcomes[1], MailboxNotFoundError)
    assert not isinstance(outcomes[0], BaseException) and outcomes[0]
    assert not isinstance(outcomes[2], BaseException) and outcomes[2]
    assert await store.get_occurrence(organized_by(0).key) == organized_by(0)
    assert await store.get_occurrence(organized_by(2).key) == organized_by(2)
    # Nothing of the failed batch was kept: user 1 has no copy, so no entry.
    assert PEOPLE[1] not in {c.user for c in await store.changes_after(0, limit=1_000)}
