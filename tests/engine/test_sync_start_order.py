"""Many mailboxes starting together: calendars appear progressively, not after every subscription is made.

At a start every mailbox needs a streaming subscription and a first (window) sync, and both go through the service
account's few threads. Users see their calendar only after its first sync, so the subscriptions must not all be made
first: the window syncs take their turns with them from the start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from engine_world import SERVICE_LOGIN, SERVICE_PASSWORD
from sync_harness import FAST, SyncHarness

from ews_sim.server import EwsSimulator
from tc_calendar.store import MailboxState, Store
from waiting import eventually

MAILBOXES = [f"user{n:02d}@corp.test" for n in range(40)]
NO_POLLING = replace(FAST, fallback_poll_interval=600.0)
"""A mailbox synced before its subscription is made reads again only for the subscription's catch-up."""


@pytest.fixture
async def sync(ews_sim: EwsSimulator, store: Store) -> AsyncIterator[SyncHarness]:
    for email in MAILBOXES:
        ews_sim.world.add_mailbox(email, email.split("@")[0], "UTC")
    harness = SyncHarness(ews_sim, store, [(SERVICE_LOGIN, SERVICE_PASSWORD)])
    yield harness
    await harness.stop()


async def test_the_first_calendars_are_synced_before_every_mailbox_is_subscribed(sync: SyncHarness) -> None:
    sync.world.gate.set_latency(20)  # every request takes a while, so the order in which they run shows
    service = sync.build(MAILBOXES, options=NO_POLLING, max_concurrency=2)
    await service.start()

    async def a_calendar_is_synced() -> bool:
        return any(status.state is MailboxState.OK for status in await sync.store.list_mailboxes())

    await eventually(a_calendar_is_synced, within=60, what="the first synced mailbox")
    subscribed_at_first_sync = sync.requests("Subscribe")
    await service.wait_synced(MAILBOXES, within=120)

    assert subscribed_at_first_sync < len(MAILBOXES) / 2
    sync.world.gate.set_latency(0)
    await sync.streaming(MAILBOXES, within=60)
    assert sync.requests("Subscribe") == len(MAILBOXES)
    # Subscribes still run ahead of the first reads (one read takes two requests or more): only the mailboxes whose
    # first read began before their subscription was made read once more, to catch up (docs/sync.md).
    assert sync.requests("SyncFolderItems") <= 1.6 * len(MAILBOXES)
