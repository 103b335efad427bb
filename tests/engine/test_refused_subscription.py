"""A mailbox whose streaming subscription Exchange refuses, in a group whose other mailboxes subscribe: it is shown
as not streaming and polled at the short fallback interval until a later Subscribe succeeds, so its changes still
arrive within seconds, not at the next retry of the subscription (a minute on) or the long poll."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest
from engine_world import ALICE, BOB, SERVICE_LOGIN, SERVICE_PASSWORD
from sync_harness import FAST, SyncHarness

from ews_sim.server import EwsSimulator
from tc_calendar.engine.service import SyncService
from tc_calendar.store import Store
from waiting import eventually

TOMORROW = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(10), tzinfo=UTC)
HOUR = timedelta(hours=1)
POLL_ONLY_UNWATCHED = replace(FAST, poll_interval=600.0, fallback_poll_interval=0.5)
"""A mailbox that streams is not polled during the test; one that does not is polled every half second."""


@pytest.fixture
async def sync(ews_sim: EwsSimulator, store: Store) -> AsyncIterator[SyncHarness]:
    harness = SyncHarness(ews_sim, store, [(SERVICE_LOGIN, SERVICE_PASSWORD)])
    yield harness
    await harness.stop()


async def streaming_by_mailbox(service: SyncService) -> dict[str, bool]:
    return {runtime.status.email: runtime.streaming for runtime in await service.status()}


async def test_a_refused_subscription_leaves_its_mailbox_polled_while_the_rest_of_its_group_streams(
    sync: SyncHarness,
) -> None:
    sync.world.create_meeting(ALICE, "Standup", TOMORROW, TOMORROW + HOUR, required=[BOB])
    sync.world.gate.fail_ews("ErrorInternalServerError", count=1, operation="Subscribe")  # one of the two is refused
    service = sync.build([ALICE, BOB], options=POLL_ONLY_UNWATCHED)
    await service.start()
    await service.wait_synced([ALICE, BOB], within=20)

    async def one_streams() -> bool:
        opened = sync.requests("GetStreamingEvents", "started") >= 1
        return opened and sorted((await streaming_by_mailbox(service)).values()) == [False, True]

    await eventually(one_streams, what="one mailbox streaming and the refused one not")
    refused = next(email for email, streaming in (await streaming_by_mailbox(service)).items() if not streaming)
    assert sync.requests("Subscribe") == 1  # the refused one is not subscribed again yet

    sync.world.create_appointment(refused, "Dentist", TOMORROW + 4 * HOUR, TOMORROW + 5 * HOUR)

    async def arrived() -> bool:
        return "Dentist" in await sync.titles(refused)

    await eventually(arrived, within=20, what=f"the change in {refused}, whose subscription was refused")
    assert sync.requests("Subscribe") == 1  # it came by polling, not by a subscription made meanwhile
