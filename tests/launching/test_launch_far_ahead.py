"""A single meeting booked months ahead, beyond ``cache.forward``, starts its conference when it begins.

Guide 3.1.2 bounds only recurring events by ``backward``/``forward``, so one-off meetings 4 and 10 months ahead are
synchronized from Exchange (the simulator, over a socket) at the first start. Exchange, the sync service, the store
and the launcher all keep time by one clock the test moves: the months pass in an instant, the window moves with
them (a daily slide to the first meeting, a new window for the second), and each conference starts at its
meeting's start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from launching_support import Clock, scheduler

from ews_sim.server import EwsSimulator
from ews_sim.world import SimClock, World
from store_reads import checkpoint_of
from tc_calendar.backoff import BackoffPolicy
from tc_calendar.engine.planner import DiffPlanner
from tc_calendar.engine.runner import SyncOptions
from tc_calendar.engine.service import SyncService
from tc_calendar.providers._ews_session import EndpointSettings
from tc_calendar.providers.ews import EwsProvider
from tc_calendar.store import Store
from tc_calendar.sync.window import window_at
from tc_calendar.trueconf.client import TrueConfClient
from tcs_sim.runner import SimServer

ALICE, BOB = "alice@example.test", "bob@example.test"  # users of the TrueConf simulator's seed world
LOGIN, PASSWORD = "svc-sync", "Sync!pass1"
BUDGET, PLANNING = "5576502892", "7788990011"
GUIDE_DEFAULTS = SyncOptions(
    auto_sync=True,
    backward_months=2,
    forward_months=3,
    poll_interval=600.0,
    fallback_poll_interval=0.5,
    transient_retry=BackoffPolicy(base=0.05, cap=0.3),
)


@pytest.fixture
def exchange(clock: Clock) -> Iterator[EwsSimulator]:
    world = World(SimClock(lambda: clock.now))
    world.add_service_account(LOGIN, PASSWORD, impersonation=True)
    world.add_mailbox(ALICE, "Alice Archer", "Europe/Berlin")
    world.add_mailbox(BOB, "Bob Baker", "Europe/Berlin")
    with EwsSimulator(world, host="127.0.0.1", port=0) as sim:
        yield sim


async def synced_to(service: SyncService, store: Store, clock: Clock) -> None:
    """Let every mailbox's loop see the clock's new day and wait until its checkpoint records the new window."""
    window = window_at(clock.now, GUIDE_DEFAULTS.backward_months, GUIDE_DEFAULTS.forward_months)
    for user in (ALICE, BOB):
        service.trigger(user)
    for _ in range(1500):
        checkpoints = [await checkpoint_of(store, user) for user in (ALICE, BOB)]
        if all(c is not None and c.window_end == window.end for c in checkpoints):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the sync did not move to the window ending {window.end} within 30 s")


async def test_single_meetings_four_and_ten_months_ahead_are_shown_and_their_conferences_start(
    exchange: EwsSimulator, store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    tcs.world.create_conference({"id": PLANNING, "topic": "Annual planning", "owner": "alice"})
    in_four = clock.now + timedelta(days=122)
    in_ten = clock.now + timedelta(days=305)
    for subject, start, cid in (("Budget review", in_four, BUDGET), ("Annual planning", in_ten, PLANNING)):
        exchange.world.create_meeting(
            ALICE, subject, start, start + timedelta(minutes=30), required=[BOB],
            location=f"https://video.example.test/c/{cid}",
        )  # fmt: skip
    endpoint = EndpointSettings(exchange.url, auth="basic", timeout_seconds=10, server_version="Exchange2016")
    provider = EwsProvider(endpoint, [(LOGIN, PASSWORD)], stream_retry_seconds=0.05)
    service = SyncService(
        store, [provider], [[ALICE, BOB]], planner=DiffPlanner(), options=GUIDE_DEFAULTS, clock=clock
    )
    launcher = scheduler(store, trueconf, clock)
    await service.start()
    try:
        await service.wait_synced(within=30)
        for user in (ALICE, BOB):
            shown = await store.load_view(user, clock.now, clock.now + timedelta(days=400))
            assert [(o.title, o.start, o.conference and o.conference.conference_id) for o, _ in shown] == [
                ("Budget review", in_four, BUDGET),
                ("Annual planning", in_ten, PLANNING),
            ], user

        for start, cid in ((in_four, BUDGET), (in_ten, PLANNING)):
            clock.now = start - timedelta(minutes=1)
            await synced_to(service, store, clock)
            await launcher.run_once()
            clock.now = start
            await launcher.run_once()
            await launcher.wait_idle()
            [run] = tcs.world.runs_of(cid)
            assert set(run.invitations) == {"alice", "bob"}
    finally:
        await launcher.close()
        await service.stop(grace_seconds=5)
