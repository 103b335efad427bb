"""Automatic conference start (seed 3.1.2, ``launchConference: true``) against the TrueConf simulator.

Given a linked meeting in the store, the conference is started when the meeting begins, with the organizer
and every attendee who has not declined on its scheduled list; never for a cancelled meeting; at the new
time after a reschedule; late within the grace period after downtime
(and recorded as missed beyond it); retried on TrueConf errors; and
exactly once across restarts and connector instances sharing one database.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from launching_support import ALICE, BOB, CID, START, Clock, meeting, put, scheduler

from tc_calendar.launch_scheduler import STALE_CLAIM
from tc_calendar.model import ChangeKind, OccurrenceKey
from tc_calendar.store import Store
from tc_calendar.store.records import LaunchState
from tc_calendar.trueconf.client import TrueConfClient
from tcs_sim.runner import SimServer


async def test_the_conference_starts_at_the_start_time_with_everyone_who_has_not_declined(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting())
    launcher = scheduler(store, trueconf, clock)

    sleep = await launcher.run_once()
    await launcher.wait_idle()
    assert tcs.world.runs_of(CID) == []
    assert sleep == pytest.approx(30.0)  # nothing sooner than the longest nap; the start is 5 minutes away

    clock.now = START + timedelta(seconds=2)
    await launcher.run_once()
    await launcher.wait_idle()

    [run] = tcs.world.runs_of(CID)
    assert set(run.invitations) == {"alice", "bob", "dave"}  # carol declined
    record = await store.get_launch(OccurrenceKey("weekly-sync-uid"))
    assert record is not None and record.state is LaunchState.STARTED and not record.late
    started = [c for c in await store.changes_after(0) if c.kind is ChangeKind.CONFERENCE_STARTED]
    assert {c.user for c in started} >= {ALICE, BOB}

    await launcher.run_once()
    await launcher.wait_idle()
    assert len(tcs.world.runs_of(CID)) == 1  # a later pass does not start it again


async def test_a_cancelled_meeting_is_never_started(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting(cancelled=True))
    clock.now = START + timedelta(seconds=1)
    launcher = scheduler(store, trueconf, clock)
    await launcher.run_once()
    await launcher.wait_idle()
    assert tcs.world.runs_of(CID) == []
    assert await store.get_launch(OccurrenceKey("weekly-sync-uid")) is None


async def test_a_rescheduled_meeting_starts_at_its_new_time(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting())
    await put(store, meeting(start=START + timedelta(hours=2)))
    clock.now = START + timedelta(seconds=1)
    launcher = scheduler(store, trueconf, clock)
    await launcher.run_once()
    await launcher.wait_idle()
    assert tcs.world.runs_of(CID) == []

    clock.now = START + timedelta(hours=2, seconds=1)
    await launcher.run_once()
    await launcher.wait_idle()
    assert len(tcs.world.runs_of(CID)) == 1


async def test_a_start_missed_while_down_happens_late_within_grace_and_not_beyond(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting())
    clock.now = START + timedelta(minutes=10)
    launcher = scheduler(store, trueconf, clock)
    await launcher.run_once()
    await launcher.wait_idle()
    record = await store.get_launch(OccurrenceKey("weekly-sync-uid"))
    assert record is not None and record.state is LaunchState.STARTED and record.late

    other = replace(meeting(start=START + timedelta(days=1)), key=OccurrenceKey("other-uid"))
    await put(store, other)
    clock.now = START + timedelta(days=1, minutes=20)
    late = scheduler(store, trueconf, clock)
    await late.run_once()
    await late.wait_idle()
    missed = await store.get_launch(OccurrenceKey("other-uid"))
    assert missed is not None and missed.state is LaunchState.SKIPPED
    assert missed.last_error is not None and missed.last_error.startswith("missed:")
    assert len(tcs.world.runs_of(CID)) == 1


async def test_trueconf_errors_are_retried_with_back_off_until_it_starts(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting())
    clock.now = START
    launcher = scheduler(store, trueconf, clock)
    tcs.world.set_faults(server_errors=1, server_error_status=503, server_error_path="/run")

    await launcher.run_once()
    await launcher.wait_idle()
    record = await store.get_launch(OccurrenceKey("weekly-sync-uid"))
    assert record is not None and record.state is LaunchState.FAILED and record.last_error
    assert tcs.world.runs_of(CID) == []

    await launcher.run_once()  # too soon: the back-off has not passed
    await launcher.wait_idle()
    assert tcs.world.runs_of(CID) == []

    clock.now = START + timedelta(seconds=30)
    await launcher.run_once()
    await launcher.wait_idle()
    assert len(tcs.world.runs_of(CID)) == 1
    record = await store.get_launch(OccurrenceKey("weekly-sync-uid"))
    assert record is not None and record.state is LaunchState.STARTED and record.attempts == 2


async def test_a_start_interrupted_by_a_crash_is_taken_over_once(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting())
    # A node claimed the start and died before calling TrueConf Server.
    clock.now = START
    assert await store.claim_launch(OccurrenceKey("weekly-sync-uid"), CID, START, "node-dead")
    clock.now = START + timedelta(seconds=5)
    restarted = scheduler(store, trueconf, clock, owner="node-b")
    await restarted.run_once()
    await restarted.wait_idle()
    assert tcs.world.runs_of(CID) == []  # the claim may still be in progress elsewhere

    clock.now = START + STALE_CLAIM + timedelta(seconds=10)
    await restarted.run_once()
    await restarted.wait_idle()
    await restarted.run_once()
    await restarted.wait_idle()
    assert len(tcs.world.runs_of(CID)) == 1


async def test_many_passes_on_several_instances_start_the_conference_exactly_once(
    database_url: str, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    """Two connector instances, each with its own connection pool to the same database, race for the start."""
    clock.now = START + timedelta(seconds=1)
    stores = [Store.open(database_url, clock=clock) for _ in range(2)]
    try:
        await put(stores[0], meeting())
        launchers = [scheduler(stores[i % 2], trueconf, clock, owner=f"node-{i}") for i in range(6)]
        await asyncio.gather(*(launcher.run_once() for launcher in launchers))
        await asyncio.gather(*(launcher.wait_idle() for launcher in launchers))
        assert len(tcs.world.runs_of(CID)) == 1
    finally:
        for store in stores:
            await store.close()


async def test_a_conference_that_does_not_exist_fails_for_good_and_is_not_retried(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting())
    tcs.world.delete_conference(CID)  # the event links to a conference deleted since
    clock.now = START
    launcher = scheduler(store, trueconf, clock)

    await launcher.run_once()
    await launcher.wait_idle()
    record = await store.get_launch(OccurrenceKey("weekly-sync-uid"))
    assert record is not None and record.state is LaunchState.FAILED and record.permanent
    assert record.last_error is not None and record.last_error.startswith("permanent: ")
    [failed] = [c for c in await store.changes_after(0) if c.kind is ChangeKind.CONFERENCE_FAILED and c.user == ALICE]
    assert failed.payload["error"] == record.last_error  # clients are told at once: nothing will be retried

    clock.now = START + timedelta(minutes=5)  # well past the back-off, within the grace period
    await launcher.run_once()
    await launcher.wait_idle()
    again = await store.get_launch(OccurrenceKey("weekly-sync-uid"))
    assert again is not None and again.attempts == 1 and again.state is LaunchState.FAILED

    clock.now = START + timedelta(minutes=20)  # beyond the grace period it is not recorded as missed either
    await launcher.run_once()
    await launcher.wait_idle()
    final = await store.get_launch(OccurrenceKey("weekly-sync-uid"))
    assert final is not None and final.state is LaunchState.FAILED and final.permanent


async def test_a_failure_is_permanent_only_when_stored_as_such(store: Store, clock: Clock) -> None:
    """Rows written before the failure kind was typed carry it only as the ``permanent:`` prefix; they read the
    same as rows written now."""
    key = OccurrenceKey("weekly-sync-uid")
    clock.now = START
    assert await store.claim_launch(key, CID, START, "node-a")
    await store.finish_launch(key, LaunchState.FAILED, "permanent: TrueConf Server has no conference", False)
    old = await store.get_launch(key)
    assert old is not None and old.permanent

    other = OccurrenceKey("other-uid")
    assert await store.claim_launch(other, CID, START, "node-a")
    await store.finish_launch(other, LaunchState.FAILED, "TrueConf Server is unavailable (503)", False)
    transient = await store.get_launch(other)
    assert transient is not None and not transient.permanent
