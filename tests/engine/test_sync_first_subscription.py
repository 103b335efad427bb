"""A mailbox's first sync and its streaming subscription: a change made between them is never missed, and a
subscription in place before the first sync reads costs no second read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest
from engine_world import ALICE, BOB, SERVICE_LOGIN, SERVICE_PASSWORD
from sync_harness import FAST, SyncHarness

from ews_sim.server import EwsSimulator
from tc_calendar.store import Store
from waiting import eventually

TOMORROW = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(10), tzinfo=UTC)
HOUR = timedelta(hours=1)
STREAM_ONLY = replace(FAST, fallback_poll_interval=600.0)
"""No polling at all: after the first sync, a change can only arrive through a notification."""


@pytest.fixture
async def sync(ews_sim: EwsSimulator, store: Store) -> AsyncIterator[SyncHarness]:
    harness = SyncHarness(ews_sim, store, [(SERVICE_LOGIN, SERVICE_PASSWORD)])
    yield harness
    await harness.stop()


async def test_a_meeting_made_after_the_first_sync_and_before_the_subscription_arrives(sync: SyncHarness) -> None:
    sync.world.create_meeting(ALICE, "Standup", TOMORROW, TOMORROW + HOUR, required=[BOB])
    sync.world.gate.server_busy(count=None, backoff_ms=200, operation="Subscribe")  # no subscription for now
    service = sync.build([ALICE, BOB], options=STREAM_ONLY)
    await service.start()
    await service.wait_synced([ALICE, BOB], within=20)
    assert await sync.titles(BOB) == ["Standup"]

    sync.world.create_meeting(ALICE, "Lunch", TOMORROW + 2 * HOUR, TOMORROW + 3 * HOUR, required=[BOB])
    sync.world.clear_faults()  # the subscriptions come after the meeting: it is never notified

    async def caught_up() -> bool:
        return await sync.titles(ALICE) == await sync.titles(BOB) == ["Standup", "Lunch"]

    await eventually(caught_up, what="the meeting made before the subscriptions")


async def test_a_first_sync_that_reads_after_the_subscription_reads_the_changes_once(sync: SyncHarness) -> None:
    sync.world.create_meeting(ALICE, "Standup", TOMORROW, TOMORROW + HOUR, required=[BOB])
    sync.world.gate.server_busy(count=None, backoff_ms=100, operation="SyncFolderItems")  # no sync for now
    service = sync.build([ALICE, BOB], options=STREAM_ONLY)
    await service.start()

    async def subscribed() -> bool:
        return sync.requests("Subscribe") == 2 and sync.requests("GetStreamingEvents", "started") >= 1

    await eventually(subscribed, what="both subscriptions and their stream")
    sync.world.clear_faults()
    await service.wait_synced([ALICE, BOB], within=20)
    await sync.streaming([ALICE, BOB])

    assert await sync.titles(BOB) == ["Standup"]
    assert sync.requests("SyncFolderItems") == 2  # one for each mailbox: the subscriptions ask for no catch-up
    assert sync.requests("GetFolder") == 0  # the calendar is named by its distinguished id

    sync.world.create_meeting(ALICE, "Lunch", TOMORROW + 2 * HOUR, TOMORROW + 3 * HOUR, required=[BOB])

    async def notified() -> bool:
        return await sync.titles(ALICE) == await sync.titles(BOB) == ["Standup", "Lunch"]

    await eventually(notified, what="a meeting made after the subscriptions")


async def test_mailboxes_starting_together_are_each_read_once_their_subscriptions_first(sync: SyncHarness) -> None:
    """At a start the first syncs and the subscriptions are made together: each first sync waits for its own
    mailbox's subscription (made ahead of the reads), so no mailbox needs a second SyncFolderItems to catch up."""
    staff = [f"user{n:02d}@corp.test" for n in range(40)]
    for mailbox in staff:
        sync.world.add_mailbox(mailbox, mailbox.split("@")[0], "UTC")
    sync.world.create_meeting(staff[0], "All hands", TOMORROW, TOMORROW + HOUR, required=staff[1:])
    service = sync.build(staff, options=STREAM_ONLY)
    await service.start()
    await service.wait_synced(staff, within=60)
    await sync.streaming(staff, within=60)

    assert await sync.titles(staff[-1]) == ["All hands"]
    assert sync.requests("Subscribe") == len(staff)
    assert sync.requests("SyncFolderItems") == len(staff)  # one each: no catch-up after a subscription


async def test_a_mailbox_whose_subscription_fails_is_synced_without_waiting_for_the_retry(sync: SyncHarness) -> None:
    sync.world.create_meeting(ALICE, "Standup", TOMORROW, TOMORROW + HOUR, required=[BOB])
    sync.world.gate.fail_ews("ErrorInternalServerError", count=1, operation="Subscribe")  # one of the two fails
    service = sync.build([ALICE, BOB], options=replace(STREAM_ONLY, subscription_wait=600.0))
    await service.start()
    # The other subscription is made; the failed one is retried with the next streaming connection, a minute on.
    await service.wait_synced([ALICE, BOB], within=20)

    assert await sync.titles(ALICE) == await sync.titles(BOB) == ["Standup"]
    assert sync.requests("Subscribe") == 1
