"""What the sync loops ask of the store: a successful cycle is one transaction holding its events, its checkpoint
and the mailbox's status; ``syncing`` is written only for a first sync long enough to be seen; loops that start
together read where they resume in one query."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from engine_fakes import FAST, FakeProvider

from tc_calendar.engine.planner import DiffPlanner
from tc_calendar.engine.runner import SyncOptions
from tc_calendar.engine.service import SyncService
from tc_calendar.providers.base import MailboxError, MailboxErrorReason
from tc_calendar.store import MailboxState, Store
from tc_calendar.store.records import ConfiguredMailbox
from tc_calendar.sync.actions import SaveCheckpoint
from waiting import eventually

ALICE = "alice@corp.test"
NOW = datetime.now(UTC).replace(microsecond=0)



class RecordingStore:
    """The real store; notes the calls the sync loops make about one mailbox's events and status."""

    NOTED = frozenset({"apply", "set_mailbox_state", "record_sync_success", "record_sync_error"})
    READS = frozenset({"get_mailbox", "load_sync_starts", "stored_views"})

    def __init__(self, store: Store) -> None:
        self._store = store
        self.calls: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)
        if name not in self.NOTED | self.READS:
            return method

        async def noted(*args: Any) -> Any:
            if name == "apply":
                self.calls.append((name, [type(action).__name__ for action in args[0]]))
            elif name == "load_sync_starts":
                self.calls.append((name, sorted(args[0])))
            else:
                self.calls.append((name, args[1] if len(args) > 1 else args[0]))
            return await method(*args)

        return noted

    def writes(self) -> list[tuple[str, Any]]:
        return [call for call in self.calls if call[0] in self.NOTED]

    def reads(self) -> list[tuple[str, Any]]:
        return [call for call in self.calls if call[0] in self.READS]


@pytest.fixture
async def world(store: Store) -> AsyncIterator[tuple[RecordingStore, FakeProvider, list[SyncService]]]:
    services: list[SyncService] = []
    yield RecordingStore(store), FakeProvider(), services
    for service in services:
        await service.stop(grace_seconds=2)


def start(
    world: tuple[RecordingStore, FakeProvider, list[SyncService]], users: Sequence[str], options: SyncOptions
) -> SyncService:
    store, provider, services = world
    service = SyncService(store, [provider], [list(users)], planner=DiffPlanner(), options=options)  # type: ignore[arg-type]
    services.append(service)
    return service


async def state_of(store: RecordingStore) -> MailboxState | None:
    status = await store._store.get_mailbox(ALICE)
    return None if status is None else status.state


async def test_a_first_sync_is_one_write_with_its_events_checkpoint_and_status(world: Any) -> None:
    store, provider, _ = world
    provider.meeting(ALICE, "Standup", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    service = start(world, [ALICE], FAST)

    await service.start()
    await service.wait_synced(within=30)

    assert store.writes() == [("apply", ["PutOccurrence", "SaveCheckpoint", "RecordSyncSuccess"])]
    status = await store._store.get_mailbox(ALICE)
    assert status is not None and status.state is MailboxState.OK and status.last_success_at is not None


async def test_a_first_sync_that_reads_long_shows_syncing_until_it_commits(world: Any) -> None:
    store, provider, _ = world
    provider.meeting(ALICE, "Standup", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    slow_server = provider.hold(ALICE, "initial_items")
    service = start(world, [ALICE], replace(FAST, syncing_after=0.05))
    await service.start()

    async def syncing() -> bool:
        return await state_of(store) is MailboxState.SYNCING

    await eventually(syncing)
    slow_server.set()
    await service.wait_synced(within=30)

    assert await state_of(store) is MailboxState.OK
    assert store.writes() == [
        ("set_mailbox_state", MailboxState.SYNCING),
        ("apply", ["PutOccurrence", "SaveCheckpoint", "RecordSyncSuccess"]),
    ]


async def test_a_mailbox_in_error_is_ok_again_with_the_page_that_completes_its_next_cycle(world: Any) -> None:
    store, provider, _ = world
    provider.meeting(ALICE, "Standup", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    service = start(world, [ALICE], FAST)
    await service.start()
    await service.wait_synced(within=30)
    denied = MailboxError("may not impersonate", reason=MailboxErrorReason.ACCESS_DENIED, mailbox=ALICE)
    provider.fail(ALICE, "sync_changes", denied)
    provider.meeting(ALICE, "Review", NOW + timedelta(hours=3), NOW + timedelta(hours=4))
    store.calls.clear()

    service.trigger(ALICE)

    async def recovered() -> bool:
        return len(store.writes()) == 2 and await state_of(store) is MailboxState.OK

    await eventually(recovered)
    assert store.writes() == [
        ("record_sync_error", f"{ALICE}: may not impersonate"),
        ("apply", ["PutOccurrence", "SaveCheckpoint", "RecordSyncSuccess"]),
    ]


async def test_loops_that_start_together_read_where_they_resume_in_one_query_and_nothing_else(
    world: Any,
) -> None:
    store, provider, _ = world
    users = [f"user{n}@corp.test" for n in range(5)]
    for user in users:
        provider.meeting(user, f"Meeting of {user}", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    service = start(world, users, FAST)

    await service.start()
    await service.wait_synced(within=30)

    # The store held no events of theirs, so there was nothing to diff the first sync against.
    assert store.reads() == [("load_sync_starts", sorted(users))]


async def test_a_first_sync_diffs_against_the_events_the_store_already_holds(world: Any) -> None:
    store, provider, services = world
    kept = provider.meeting(ALICE, "Kept", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    gone = provider.meeting(ALICE, "Gone", NOW + timedelta(hours=3), NOW + timedelta(hours=4))
    service = start(world, [ALICE], FAST)
    await service.start()
    await service.wait_synced(within=30)
    await service.stop(grace_seconds=2)
    services.remove(service)
    await store._store.apply([SaveCheckpoint(ALICE, None, NOW - timedelta(days=1), NOW + timedelta(days=1))])
    provider.delete(ALICE, gone)
    store.calls.clear()

    service = start(world, [ALICE], FAST)  # a window sync again, with events in the store
    await service.start()
    await service.wait_synced(within=30)

    assert ("stored_views", ALICE) in store.reads()
    view = await store._store.load_view(ALICE, NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert [occurrence.title for occurrence, _ in view] == ["Kept"]
    assert kept


async def test_without_auto_sync_the_first_seen_time_is_read_once_not_at_every_cycle(world: Any) -> None:
    store, provider, _ = world
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE)])  # first seen before Standup was made
    provider.meeting(ALICE, "Standup", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    service = start(world, [ALICE], replace(FAST, auto_sync=False))
    await service.start()
    await service.wait_synced(within=30)

    for n in range(3):
        provider.meeting(ALICE, f"New {n}", NOW + timedelta(hours=3 + n), NOW + timedelta(hours=4 + n))
        service.trigger(ALICE)
        await eventually(lambda count=2 + n: _synced_items(store, count))

    first_seen_reads = [call for call in store.reads() if call[0] in ("get_mailbox", "load_sync_starts")]
    assert first_seen_reads == [("load_sync_starts", [ALICE])]  # with the checkpoint, when the loop started


async def test_without_auto_sync_a_meeting_is_new_from_the_second_in_which_the_mailbox_was_first_seen(
    world: Any,
) -> None:
    store, provider, _ = world
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE)])
    status = await store._store.get_mailbox(ALICE)
    assert status is not None
    second = status.first_seen_at.replace(microsecond=0)  # Exchange's LastModifiedTime has whole seconds
    just_before = second - timedelta(microseconds=1)
    provider.meeting(ALICE, "Before", NOW + timedelta(hours=1), NOW + timedelta(hours=2), last_modified=just_before)
    provider.meeting(ALICE, "In that second", NOW + timedelta(hours=3), NOW + timedelta(hours=4), last_modified=second)
    service = start(world, [ALICE], replace(FAST, auto_sync=False))

    await service.start()
    await service.wait_synced(within=30)

    view = await store._store.load_view(ALICE, NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert [occurrence.title for occurrence, _ in view] == ["In that second"]


async def _synced_items(store: RecordingStore, count: int) -> bool:
    status = await store._store.get_mailbox(ALICE)
    return status is not None and status.event_count == count


async def test_a_later_window_sync_diffs_against_events_that_arrived_after_the_loop_started_with_none(
    world: Any,
) -> None:
    store, provider, services = world
    provider.delete(ALICE, provider.meeting(ALICE, "Long gone", NOW + timedelta(hours=1), NOW + timedelta(hours=2)))
    first = start(world, [ALICE], FAST)
    await first.start()
    await first.wait_synced(within=30)
    await first.stop(grace_seconds=2)
    services.remove(first)
    service = start(world, [ALICE], FAST)  # resumes from its SyncState with no events in the store
    await service.start()
    await service.wait_synced(within=30)

    brief = provider.meeting(ALICE, "Brief", NOW + timedelta(hours=3), NOW + timedelta(hours=4))
    service.trigger(ALICE)
    await eventually(lambda: _synced_items(store, 1))
    provider.invalid_states.add(str(len(provider.mailboxes[ALICE].log)))  # Exchange forgets that SyncState
    provider.delete(ALICE, brief)
    service.trigger(ALICE)

    await eventually(lambda: _synced_items(store, 0))  # the window sync saw Brief stored and gone from Exchange
    assert sum(1 for call in provider.calls if call == (ALICE, "initial_items")) == 2
