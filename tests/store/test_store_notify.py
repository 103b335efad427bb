"""Wake-ups: listeners hear that the change log grew, from this process and from other instances."""

from __future__ import annotations

import asyncio

import pytest
from store_builders import ALICE, meeting, put

from tc_calendar.model import ChangeKind
from tc_calendar.store import Store


async def test_listeners_are_woken_by_commits_that_appended_entries_only(store: Store) -> None:
    wakeups: list[str] = []
    store.add_change_listener(lambda: wakeups.append("woken"))

    await store.apply([put(ALICE, meeting())])
    await store.apply([put(ALICE, meeting())])  # nothing changed
    await store.append_change(ChangeKind.CONFERENCE_FAILED, ALICE)

    assert wakeups == ["woken", "woken"]


async def test_a_failing_listener_does_not_stop_the_others_or_the_write(store: Store) -> None:
    woken = asyncio.Event()

    def broken() -> None:
        raise RuntimeError("listener bug")

    store.add_change_listener(broken)
    store.add_change_listener(woken.set)

    assert await store.apply([put(ALICE, meeting())])
    assert woken.is_set()


async def test_a_removed_listener_is_not_woken(store: Store) -> None:
    wakeups: list[str] = []

    def listener() -> None:
        wakeups.append("woken")

    store.add_change_listener(listener)
    store.remove_change_listener(listener)
    await store.apply([put(ALICE, meeting())])

    assert wakeups == []


@pytest.mark.postgres
async def test_an_instance_hears_the_commits_of_another_instance(postgres_database_url: str) -> None:
    async with Store.open(postgres_database_url) as writer, Store.open(postgres_database_url) as reader:
        woken = asyncio.Event()
        reader.add_change_listener(woken.set)
        await reader.listen_to_other_instances()
        woken.clear()

        await writer.apply([put(ALICE, meeting())])

        await asyncio.wait_for(woken.wait(), 30)


@pytest.mark.postgres
async def test_an_instance_that_listens_is_woken_once_for_its_own_commit(postgres_database_url: str) -> None:
    """Its own NOTIFY comes back to it too; that is the same commit, already announced."""
    async with Store.open(postgres_database_url) as store, Store.open(postgres_database_url) as other:
        wakeups: list[str] = []
        later = asyncio.Event()
        store.add_change_listener(lambda: wakeups.append("woken"))
        store.add_change_listener(later.set)
        await store.listen_to_other_instances()
        wakeups.clear()

        await store.apply([put(ALICE, meeting())])
        assert wakeups == ["woken"]
        later.clear()
        # PostgreSQL delivers notifications in commit order: once the other instance's is heard, ours was too.
        await other.append_change(ChangeKind.CONFERENCE_FAILED, ALICE)
        await asyncio.wait_for(later.wait(), 30)

        assert wakeups == ["woken", "woken"]
