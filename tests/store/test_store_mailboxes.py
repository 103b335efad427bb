"""Mailboxes: registration in config order, status for administrators, checkpoints and leases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from store_builders import ALICE, BOB, CAROL, MONDAY_9, meeting, put

from store_reads import checkpoint_of, save_checkpoint
from tc_calendar.store import (
    ConfiguredMailbox,
    MailboxNotFoundError,
    MailboxOrigin,
    MailboxState,
    Store,
)
from tc_calendar.sync.actions import DropItem, DropOccurrence, RecordSyncSuccess, SaveCheckpoint

TTL = timedelta(minutes=2)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def clocked(database_url: str) -> AsyncIterator[tuple[Store, FakeClock]]:
    """A store whose time stands still at MONDAY_9 until the test moves the clock."""
    clock = FakeClock(MONDAY_9)
    async with Store.open(database_url, clock=clock) as store:
        yield store, clock


async def test_config_mailboxes_come_first_in_config_order_then_on_demand_ones(store: Store) -> None:
    assert await store.register_on_demand_mailbox("Dave@Example.com")
    await store.register_config_mailboxes([ConfiguredMailbox(BOB), ConfiguredMailbox(ALICE.upper(), 1)])

    statuses = await store.list_mailboxes()

    assert [(s.email, s.origin, s.config_order) for s in statuses] == [
        (BOB, MailboxOrigin.CONFIG, 0),
        (ALICE, MailboxOrigin.CONFIG, 1),
        ("dave@example.com", MailboxOrigin.ON_DEMAND, None),
    ]
    assert statuses[1].provider_index == 1
    assert {s.state for s in statuses} == {MailboxState.PENDING}


async def test_reordering_the_config_updates_order_and_provider_but_keeps_the_sync_state(store: Store) -> None:
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE), ConfiguredMailbox(BOB)])
    await store.record_sync_success(ALICE)

    await store.register_config_mailboxes([ConfiguredMailbox(BOB), ConfiguredMailbox(ALICE, 2)])

    statuses = await store.list_mailboxes()
    assert [(s.email, s.config_order, s.provider_index, s.state) for s in statuses] == [
        (BOB, 0, 0, MailboxState.PENDING),
        (ALICE, 1, 2, MailboxState.OK),
    ]


async def test_asking_for_a_known_mailbox_again_changes_nothing(store: Store) -> None:
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE)])

    assert not await store.register_on_demand_mailbox(ALICE)
    status = await store.get_mailbox(ALICE)
    assert status is not None and status.origin is MailboxOrigin.CONFIG


async def test_a_mailbox_removed_from_the_config_is_disabled_and_enabled_when_listed_again(store: Store) -> None:
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE), ConfiguredMailbox(BOB)])
    await store.record_sync_success(BOB)

    await store.register_config_mailboxes([ConfiguredMailbox(ALICE)])
    bob = await store.get_mailbox(BOB)
    assert bob is not None and bob.state is MailboxState.DISABLED

    await store.register_config_mailboxes([ConfiguredMailbox(BOB), ConfiguredMailbox(ALICE)])
    bob = await store.get_mailbox(BOB)
    assert bob is not None and (bob.state, bob.config_order) == (MailboxState.PENDING, 0)


async def test_sync_starts_of_many_mailboxes_come_in_one_read_with_their_first_seen_time(
    clocked: tuple[Store, FakeClock],
) -> None:
    store, clock = clocked
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE)])
    clock.now += timedelta(hours=1)
    await store.register_on_demand_mailbox(BOB)
    await store.apply([put(ALICE, meeting()), SaveCheckpoint(ALICE, "state-1", MONDAY_9, MONDAY_9 + timedelta(days=7))])

    starts = await store.load_sync_starts([ALICE.upper(), BOB, "nobody@example.com"])

    assert sorted(starts) == [ALICE, BOB]
    alice, bob = starts[ALICE], starts[BOB]
    assert (alice.checkpoint.sync_state, alice.first_seen_at, alice.event_count) == ("state-1", MONDAY_9, 1)
    assert (bob.checkpoint.sync_state, bob.first_seen_at, bob.event_count) == (None, clock.now, 0)


async def test_a_success_recorded_with_a_page_commits_with_it_and_keeps_the_last_error(
    clocked: tuple[Store, FakeClock],
) -> None:
    store, clock = clocked
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE)])
    await store.record_sync_error(ALICE, "ErrorServerBusy")
    clock.now += timedelta(minutes=5)
    window = (MONDAY_9, MONDAY_9 + timedelta(days=7))

    await store.apply([put(ALICE, meeting()), SaveCheckpoint(ALICE, "state-1", *window), RecordSyncSuccess(ALICE)])

    status = await store.get_mailbox(ALICE)
    checkpoint = await checkpoint_of(store, ALICE)
    assert status is not None and checkpoint is not None
    assert (status.state, status.last_success_at, status.event_count) == (MailboxState.OK, clock.now, 1)
    assert status.last_error == "ErrorServerBusy"  # kept for admins, as record_sync_success does
    assert checkpoint.sync_state == "state-1"


async def test_a_success_for_an_unknown_mailbox_rolls_back_the_page_it_came_with(store: Store) -> None:
    with pytest.raises(MailboxNotFoundError):
        await store.apply([put(ALICE, meeting()), RecordSyncSuccess("nobody@example.com")])

    assert await store.get_occurrence(meeting().key) is None
    assert await store.changes_after(0) == []


async def test_status_shows_success_errors_and_the_number_of_events(clocked: tuple[Store, FakeClock]) -> None:
    store, clock = clocked
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE)])
    await store.apply([put(ALICE, meeting("a")), put(ALICE, meeting("b"))])
    await store.record_sync_success(ALICE)
    clock.now += timedelta(minutes=5)
    await store.record_sync_error(ALICE, "ErrorServerBusy")

    status = await store.get_mailbox(ALICE)

    assert status is not None
    assert (status.state, status.event_count) == (MailboxState.ERROR, 2)
    assert (status.last_success_at, status.last_error, status.last_error_at) == (
        MONDAY_9,
        "ErrorServerBusy",
        MONDAY_9 + timedelta(minutes=5),
    )
    assert status.first_seen_at == MONDAY_9


async def test_updating_an_unknown_mailbox_is_an_error(store: Store) -> None:
    with pytest.raises(MailboxNotFoundError):
        await store.set_mailbox_state(CAROL, MailboxState.SYNCING)


async def test_the_checkpoint_is_kept(store: Store) -> None:
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE)])
    assert await checkpoint_of(store, BOB) is None

    await save_checkpoint(store, ALICE, "sync-state", MONDAY_9, MONDAY_9 + timedelta(days=30))

    checkpoint = await checkpoint_of(store, ALICE)
    assert checkpoint is not None
    assert (checkpoint.sync_state, checkpoint.window_start, checkpoint.window_end) == (
        "sync-state",
        MONDAY_9,
        MONDAY_9 + timedelta(days=30),
    )


async def test_a_leased_mailbox_is_not_given_to_another_owner_until_its_lease_expires(
    clocked: tuple[Store, FakeClock],
) -> None:
    store, clock = clocked
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE), ConfiguredMailbox(BOB), ConfiguredMailbox(CAROL)])
    await store.set_mailbox_state(CAROL, MailboxState.OVER_LIMIT)

    assert await store.lease_mailboxes("node-1", 1, TTL) == [ALICE]
    assert await store.lease_mailboxes("node-2", 10, TTL) == [BOB]
    assert await store.lease_mailboxes("node-3", 10, TTL) == []
    assert not await store.lease_mailbox(ALICE, "node-2", TTL)

    clock.now += TTL + timedelta(seconds=1)
    assert await store.lease_mailbox(ALICE, "node-2", TTL)
    assert await store.renew_leases("node-1", TTL) == []  # node-1 learns that it lost the lease
    assert await store.renew_leases("node-2", TTL) == [ALICE, BOB]


async def test_a_node_renews_all_its_leases_at_once_and_learns_which_it_lost(
    clocked: tuple[Store, FakeClock],
) -> None:
    store, clock = clocked
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE), ConfiguredMailbox(BOB), ConfiguredMailbox(CAROL)])
    assert await store.lease_mailboxes("node-1", 2, TTL) == [ALICE, BOB]

    clock.now += TTL + timedelta(seconds=1)  # node-1 stalled; node-2 takes one of its expired leases
    assert await store.lease_mailbox(BOB, "node-2", TTL)

    assert await store.renew_leases("node-1", TTL) == [ALICE]
    clock.now += TTL - timedelta(seconds=1)
    assert await store.lease_mailboxes("node-2", 10, TTL) == [CAROL]  # ALICE's renewed lease still holds


async def test_a_released_lease_can_be_taken_at_once(store: Store) -> None:
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE), ConfiguredMailbox(BOB)])
    await store.lease_mailboxes("node-1", 10, TTL)

    await store.release_lease("node-1", ALICE)
    assert await store.lease_mailboxes("node-2", 10, TTL) == [ALICE]

    await store.release_lease("node-1")
    assert await store.lease_mailboxes("node-2", 10, TTL) == [BOB]
    status = await store.get_mailbox(BOB)
    assert status is not None and status.lease_owner == "node-2"


async def test_nodes_alive_divide_the_synchronized_mailboxes_and_a_silent_one_stops_counting(
    clocked: tuple[Store, FakeClock],
) -> None:
    store, clock = clocked
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE), ConfiguredMailbox(BOB), ConfiguredMailbox(CAROL)])
    await store.set_mailbox_state(CAROL, MailboxState.OVER_LIMIT)

    alone = await store.announce_node("node-1", TTL)
    assert (alone.nodes, alone.mailboxes, alone.share) == (1, 2, 2)
    together = await store.announce_node("node-2", TTL)
    assert (together.nodes, together.share) == (2, 1)

    clock.now += TTL - timedelta(seconds=1)
    assert (await store.announce_node("node-2", TTL)).nodes == 2
    clock.now += timedelta(seconds=2)  # node-1 said nothing for longer than the lease time
    assert (await store.announce_node("node-2", TTL)).nodes == 1
    await store.forget_node("node-2")
    assert (await store.announce_node("node-3", TTL)).nodes == 1


async def test_a_node_gives_up_some_of_its_leases_for_others_to_take(store: Store) -> None:
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE), ConfiguredMailbox(BOB), ConfiguredMailbox(CAROL)])
    assert await store.lease_mailboxes("node-1", 10, TTL) == [ALICE, BOB, CAROL]

    await store.release_leases("node-2", [ALICE])  # not its lease: nothing happens
    await store.release_leases("node-1", [BOB, CAROL])
    assert await store.lease_mailboxes("node-2", 10, TTL) == [BOB, CAROL]
    assert await store.renew_leases("node-1", TTL) == [ALICE]


async def test_two_instances_sharing_one_database_never_lease_the_same_mailbox(database_url: str) -> None:
    """On PostgreSQL this is SELECT ... FOR UPDATE SKIP LOCKED; on SQLite, BEGIN IMMEDIATE."""
    emails = [f"user{n:03d}@example.com" for n in range(60)]
    async with Store.open(database_url) as first, Store.open(database_url) as second:
        await first.register_config_mailboxes([ConfiguredMailbox(email) for email in emails])

        async def grab(store: Store, owner: str) -> list[str]:
            taken: list[str] = []
            while batch := await store.lease_mailboxes(owner, 3, TTL):
                taken += batch
                await asyncio.sleep(0)
            return taken

        a, b = await asyncio.gather(grab(first, "node-a"), grab(second, "node-b"))

    assert not set(a) & set(b)
    assert sorted(a + b) == emails


async def test_the_event_count_follows_what_the_mailbox_sees(store: Store) -> None:
    await store.apply([put(BOB, meeting("early"))])  # seen before the mailbox is registered
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE), ConfiguredMailbox(BOB)])
    await store.register_on_demand_mailbox(CAROL)

    await store.apply([put(ALICE, meeting(f"m{n}"), item_id="series") for n in range(3)] + [put(BOB, meeting("m0"))])
    await store.apply([put(ALICE, meeting("m0"))])  # already seen: no change
    await store.apply([DropOccurrence(ALICE, meeting("m0").key), DropItem(BOB, "nothing")])

    counts = {status.email: status.event_count for status in await store.list_mailboxes()}
    assert counts == {ALICE: 2, BOB: 2, CAROL: 0}
    await store.apply([DropItem(ALICE, "series")])
    alice = await store.get_mailbox(ALICE)
    assert alice is not None and alice.event_count == 0


async def test_an_idle_on_demand_mailbox_asked_for_again_meanwhile_is_not_forgotten(database_url: str) -> None:
    """One node decides the mailbox is idle; before it deletes it, a client asks for it on another node."""
    now = [datetime(2026, 6, 1, 9, tzinfo=UTC)]
    async with Store.open(database_url, clock=lambda: now[0]) as store:
        await store.register_on_demand_mailbox("erin@example.com")
        now[0] += timedelta(hours=2)
        cutoff = now[0] - timedelta(hours=1)  # the deciding node's idea of "idle"
        await store.touch_mailbox("erin@example.com")  # the other node's client

        assert not await store.forget_mailbox("erin@example.com", requested_before=cutoff)
        assert await store.get_mailbox("erin@example.com") is not None

        now[0] += timedelta(hours=2)
        assert await store.forget_mailbox("erin@example.com", requested_before=now[0] - timedelta(hours=1))
        assert await store.get_mailbox("erin@example.com") is None
