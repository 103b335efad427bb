"""When Exchange misbehaves: throttling, HTTP errors, broken streams and subscriptions, rejected sync states, broken
mailboxes. In every case sync goes on, the affected mailbox shows why, and nothing is lost or written twice."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest
from engine_world import ALICE, BOB, CAROL, SERVICE_LOGIN, SERVICE_PASSWORD
from sync_harness import FAST, SyncHarness

from ews_sim.server import EwsSimulator
from tc_calendar.model import ChangeKind
from tc_calendar.store import MailboxState, Store
from waiting import eventually

TOMORROW = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(10), tzinfo=UTC)
HOUR = timedelta(hours=1)
GHOST = "ghost@corp.test"
STREAM_ONLY = replace(FAST, fallback_poll_interval=600.0)
"""No polling at all: a change can only arrive through a notification."""


@pytest.fixture
async def sync(ews_sim: EwsSimulator, store: Store) -> AsyncIterator[SyncHarness]:
    harness = SyncHarness(ews_sim, store, [(SERVICE_LOGIN, SERVICE_PASSWORD)])
    yield harness
    await harness.stop()


async def upserts_per_user(store: Store, after: int = 0) -> Counter[str]:
    return Counter(c.user for c in await store.changes_after(after) if c.kind is ChangeKind.UPSERT)


async def test_server_busy_back_off_is_honoured_before_the_next_request(sync: SyncHarness) -> None:
    await sync.start([ALICE, BOB])
    await sync.streaming([ALICE, BOB])
    cursor = await sync.store.latest_cursor()
    loop = asyncio.get_running_loop()

    sync.world.gate.server_busy(count=2, backoff_ms=600)
    started = loop.time()
    sync.world.create_meeting(ALICE, "Standup", TOMORROW, TOMORROW + HOUR, required=[BOB])

    async def arrived() -> bool:
        return await sync.titles(BOB) == ["Standup"] and await sync.titles(ALICE) == ["Standup"]

    await eventually(arrived, what="the meeting after ErrorServerBusy")
    assert loop.time() - started >= 0.6
    assert sync.requests("SyncFolderItems", "throttled") >= 1
    assert await upserts_per_user(sync.store, cursor) == Counter({ALICE: 1, BOB: 1})


async def test_http_500_and_503_are_retried_and_nothing_is_lost_or_doubled(sync: SyncHarness) -> None:
    await sync.start([ALICE, BOB])
    cursor = await sync.store.latest_cursor()

    sync.world.gate.fail_http(503, count=2)
    sync.world.gate.fail_http(500, count=2)
    sync.world.create_meeting(ALICE, "After the outage", TOMORROW, TOMORROW + HOUR, required=[BOB])

    async def arrived() -> bool:
        return await sync.titles(BOB) == ["After the outage"] and await sync.titles(ALICE) == ["After the outage"]

    await eventually(arrived, what="the meeting after HTTP errors")
    await asyncio.sleep(0.5)
    assert await upserts_per_user(sync.store, cursor) == Counter({ALICE: 1, BOB: 1})
    assert (await sync.state(ALICE))[0] is MailboxState.OK


async def test_a_rejected_service_account_puts_its_mailboxes_in_error_naming_the_account(
    ews_sim: EwsSimulator, store: Store
) -> None:
    harness = SyncHarness(ews_sim, store, [(SERVICE_LOGIN, "wrong password")])
    service = harness.build([ALICE])
    await service.start()
    try:

        async def failed() -> bool:
            state, error = await harness.state(ALICE)
            return state is MailboxState.ERROR and SERVICE_LOGIN in (error or "")

        await eventually(failed, what="state error naming the service account")
    finally:
        await harness.stop()


async def test_a_passing_401_is_recovered(sync: SyncHarness) -> None:
    sync.world.create_meeting(ALICE, "Standup", TOMORROW, TOMORROW + HOUR)
    sync.world.gate.fail_http(401, count=1)

    await sync.start([ALICE])

    assert await sync.titles(ALICE) == ["Standup"]
    assert (await sync.state(ALICE))[0] is MailboxState.OK


async def test_a_dropped_stream_is_reopened_and_changes_keep_arriving(sync: SyncHarness) -> None:
    await sync.start([ALICE, BOB], options=STREAM_ONLY)
    await sync.streaming([ALICE, BOB])

    opened = sync.requests("GetStreamingEvents", "started")
    sync.world.drop_streaming_connections()

    async def reopened() -> bool:
        return sync.requests("GetStreamingEvents", "started") > opened

    await eventually(reopened, within=30, what="the stream reopened after the drop")
    sync.world.create_meeting(ALICE, "After the drop", TOMORROW, TOMORROW + HOUR, required=[BOB])

    async def arrived() -> bool:
        return await sync.titles(BOB) == ["After the drop"]

    await eventually(arrived, within=30, what="the meeting through the reopened stream")


async def test_an_expired_subscription_is_renewed_and_changes_keep_arriving(sync: SyncHarness) -> None:
    await sync.start([ALICE, BOB], options=STREAM_ONLY)
    await sync.streaming([ALICE, BOB])

    subscribed = sync.requests("Subscribe")
    sync.world.expire_subscriptions()

    async def renewed() -> bool:
        return sync.requests("Subscribe") > subscribed

    await eventually(renewed, within=30, what="the subscriptions renewed after they expired")
    sync.world.create_meeting(ALICE, "After expiry", TOMORROW, TOMORROW + HOUR, required=[BOB])

    async def arrived() -> bool:
        return await sync.titles(BOB) == ["After expiry"] and await sync.titles(ALICE) == ["After expiry"]

    await eventually(arrived, within=30, what="the meeting through a renewed subscription")


def _fail_subscribe(sync: SyncHarness, fault: str, count: int) -> None:
    """The next ``count`` Subscribe requests fail as real Exchange can fail them."""
    if fault == "HTTP 500":
        sync.world.gate.fail_http(500, count=count, operation="Subscribe")
    elif fault == "ErrorServerBusy":
        sync.world.gate.server_busy(count=count, backoff_ms=300, operation="Subscribe")
    else:
        sync.world.gate.fail_ews(fault, count=count, operation="Subscribe")


@pytest.mark.parametrize("fault", ["ErrorInternalServerError", "HTTP 500", "ErrorServerBusy"])
async def test_a_failing_subscribe_is_logged_once_shown_retried_and_caught_up(
    sync: SyncHarness, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    service = await sync.start([ALICE, BOB], options=STREAM_ONLY)
    await sync.streaming([ALICE, BOB])
    caplog.set_level(logging.INFO, logger="tc_calendar")

    # The subscriptions expire and re-subscribing them fails four times for both (two requests per round).
    _fail_subscribe(sync, fault, count=8)
    sync.world.expire_subscriptions()

    def without_notifications() -> float:
        return sync.metrics.registry.get_sample_value("tc_calendar_mailboxes_without_notifications") or 0.0

    async def degraded() -> bool:
        return not any(runtime.streaming for runtime in await service.status()) and without_notifications() == 2

    await eventually(degraded, what="both mailboxes shown as not streaming while Subscribe fails")
    sync.world.create_meeting(ALICE, "During the outage", TOMORROW, TOMORROW + HOUR, required=[BOB])

    async def arrived() -> bool:  # no polling in this test: only the catch-up after re-subscribing can bring it
        return await sync.titles(BOB) == await sync.titles(ALICE) == ["During the outage"]

    await eventually(arrived, within=60, what="the meeting made while Subscribe failed")
    await sync.streaming([ALICE, BOB])
    assert without_notifications() == 0
    assert sync.world.gate.counters()["Subscribe"]["NoError"] >= 4  # the first two and the two that recovered

    lines = [r for r in caplog.records if r.name == "tc_calendar.engine.streaming"]
    failed = [r.getMessage() for r in lines if r.levelno >= logging.ERROR]
    assert len(failed) == 1, failed
    assert ALICE in failed[0] and BOB in failed[0] and "Subscribe failed" in failed[0]
    assert any("works again" in r.getMessage() for r in lines)


async def test_an_invalid_sync_state_is_recovered_by_a_window_resync_that_writes_only_differences(
    sync: SyncHarness,
) -> None:
    sync.world.create_meeting(ALICE, "Existing", TOMORROW, TOMORROW + HOUR, required=[BOB])
    await sync.start([ALICE, BOB])
    cursor = await sync.store.latest_cursor()

    sync.world.invalidate_sync_states(BOB)
    sync.world.create_meeting(ALICE, "New", TOMORROW + 2 * HOUR, TOMORROW + 3 * HOUR, required=[BOB])

    async def arrived() -> bool:
        return await sync.titles(BOB) == ["Existing", "New"]

    await eventually(arrived, what="the new meeting after the resync")
    await asyncio.sleep(0.3)
    assert await upserts_per_user(sync.store, cursor) == Counter({ALICE: 1, BOB: 1})


async def test_a_missing_or_unavailable_mailbox_shows_its_error_and_the_others_sync_on(sync: SyncHarness) -> None:
    sync.world.create_meeting(ALICE, "Standup", TOMORROW, TOMORROW + HOUR, required=[BOB, CAROL])
    sync.world.set_mailbox_unavailable(CAROL)
    # The first mailbox of the streaming group is broken; polling is off, so changes come by notification only.
    service = sync.build([GHOST, ALICE, CAROL, BOB], options=STREAM_ONLY)

    await service.start()
    await service.wait_synced([ALICE, BOB], within=20)

    async def errors_shown() -> bool:
        ghost, carol = await sync.state(GHOST), await sync.state(CAROL)
        return (
            ghost[0] is MailboxState.ERROR
            and "no such mailbox" in (ghost[1] or "")
            and carol[0] is MailboxState.ERROR
            and "unavailable" in (carol[1] or "")
        )

    await eventually(errors_shown, what="errors of the broken mailboxes")
    assert await sync.titles(ALICE) == ["Standup"]
    assert await sync.titles(BOB) == ["Standup"]

    sync.world.create_meeting(ALICE, "Lunch", TOMORROW + 2 * HOUR, TOMORROW + 3 * HOUR, required=[BOB])

    async def notified() -> bool:  # no polling in this test: only a notification can bring it
        return await sync.titles(ALICE) == await sync.titles(BOB) == ["Standup", "Lunch"]

    await eventually(notified, what="a new meeting through streaming despite the broken mailboxes")

    sync.world.set_mailbox_unavailable(CAROL, False)

    async def carol_recovered() -> bool:
        return await sync.titles(CAROL) == ["Standup"] and (await sync.state(CAROL))[0] is MailboxState.OK

    await eventually(carol_recovered, what="Carol's mailbox after it is available again")
