"""Starting on time: a minute before a meeting the launcher prepares its conference, two seconds before it
looks once more and claims the start, and at the start only ``run`` is left to send.

Whatever changes after the preparation is honoured: a reschedule starts at the new time only, a cancellation
never starts, a changed answer is reflected on the scheduled list. Meetings starting together start together.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from launching_support import CID, KEY, LEAD, START, Clock, meeting, put, scheduler

from tc_calendar.launch_scheduler import LaunchScheduler
from tc_calendar.model import OccurrenceKey, Response
from tc_calendar.status import render_launches
from tc_calendar.store import Store
from tc_calendar.store.records import LaunchState
from tc_calendar.trueconf.client import TrueConfClient
from tc_calendar.trueconf.participants import ParticipantsMode
from tcs_sim.runner import SimServer
from waiting import eventually

PREPARED = START - LEAD
CLAIMED = START - timedelta(seconds=1)  # the claim is made two seconds ahead


def invited(tcs: SimServer, cid: str = CID) -> set[str]:
    return {invitation["id"] for invitation in tcs.world.invitations(cid)}


async def at(clock: Clock, when: datetime, *launchers: LaunchScheduler) -> None:
    """Move the clock to ``when``, let each launcher pass over the schedule, and wait for what is due by then."""
    clock.now = when
    for launcher in launchers:
        await launcher.run_once()
    for launcher in launchers:
        await launcher.wait_idle()


async def test_the_list_is_set_ahead_and_at_the_start_only_run_is_sent(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting())
    launcher = scheduler(store, trueconf, clock, lead=LEAD)
    assert await launcher.run_once() == pytest.approx(30.0)  # preparing is four minutes away

    await at(clock, PREPARED, launcher)
    assert invited(tcs) == {"alice", "bob", "dave"}  # carol declined
    assert tcs.world.runs_of(CID) == []
    assert await store.get_launch(KEY) is None

    await at(clock, CLAIMED, launcher)
    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.CLAIMED and record.claimed_by == "node-a"
    assert tcs.world.runs_of(CID) == []

    before_start = len(tcs.world.requests)
    await at(clock, START, launcher)
    [run] = tcs.world.runs_of(CID)
    assert set(run.invitations) == {"alice", "bob", "dave"}
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in tcs.world.requests[before_start:]] == [("POST", "run")]
    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.STARTED and not record.late

    await at(clock, START + timedelta(minutes=1), launcher)
    assert len(tcs.world.runs_of(CID)) == 1


async def test_a_meeting_rescheduled_after_preparation_starts_at_its_new_time_only(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting())
    launcher = scheduler(store, trueconf, clock, lead=LEAD)
    await at(clock, PREPARED, launcher)

    later = START + timedelta(minutes=30)
    await put(store, meeting(start=later))
    await at(clock, PREPARED + timedelta(seconds=1), launcher)
    await at(clock, START + timedelta(seconds=1), launcher)
    assert tcs.world.runs_of(CID) == []
    assert await store.get_launch(KEY) is None

    await at(clock, later - LEAD, launcher)
    await at(clock, later - timedelta(seconds=1), launcher)
    await at(clock, later, launcher)
    assert len(tcs.world.runs_of(CID)) == 1
    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.STARTED and not record.late


async def test_a_meeting_rescheduled_after_its_claim_hands_the_claim_back_and_starts_at_its_new_time(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting())
    launcher = scheduler(store, trueconf, clock, lead=LEAD)
    await at(clock, PREPARED, launcher)
    await at(clock, CLAIMED, launcher)

    later = START + timedelta(minutes=10)
    await put(store, meeting(start=later))
    await at(clock, CLAIMED + timedelta(milliseconds=500), launcher)
    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.RELEASED
    assert record.last_error == "it is no longer scheduled then"  # moved beyond the launcher's lookahead
    [_, listed] = render_launches(await store.list_launches(), clock())  # what tc_calendar status shows
    assert listed.split()[:5] == [CID, "2026-06-29", "09:00", "UTC", "released"]

    await at(clock, START + timedelta(seconds=5), launcher)
    assert tcs.world.runs_of(CID) == []

    await at(clock, later - LEAD, launcher)
    await at(clock, later - timedelta(seconds=1), launcher)
    await at(clock, later, launcher)
    assert len(tcs.world.runs_of(CID)) == 1
    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.STARTED and not record.late
    assert record.attempts == 1  # handing back and claiming again is not a failed attempt
    assert record.scheduled_at == later  # listed at the time it really started


async def test_a_claim_taken_over_meanwhile_is_not_handed_back(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    """Releasing never reopens a start another node made: only a claim still in progress can be handed back."""
    await put(store, meeting())
    launcher = scheduler(store, trueconf, clock, lead=LEAD)
    await at(clock, PREPARED, launcher)
    await at(clock, CLAIMED, launcher)
    await store.finish_launch(KEY, LaunchState.STARTED)  # as a node that took the claim over would record it

    later = START + timedelta(minutes=5)
    await put(store, meeting(start=later))
    await at(clock, CLAIMED + timedelta(milliseconds=500), launcher)
    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.STARTED

    await at(clock, later - LEAD, launcher)
    await at(clock, later - timedelta(seconds=1), launcher)
    await at(clock, later, launcher)
    assert tcs.world.runs_of(CID) == []


async def test_an_attempt_whose_claim_was_taken_over_while_run_was_in_flight_leaves_the_new_holders_outcome(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    """A slow TrueConf Server: this node has sent ``run``; meanwhile another node took the claim over as stale and
    recorded the conference as started. When this node's ``run`` then fails, that record is not overwritten."""
    await put(store, meeting())
    launcher = scheduler(store, trueconf, clock, lead=LEAD)
    await at(clock, PREPARED, launcher)
    await at(clock, CLAIMED, launcher)
    tcs.world.set_faults(latency=1.0, server_errors=1, server_error_status=503, server_error_path="/run")

    starting = asyncio.create_task(at(clock, START, launcher))

    async def run_sent() -> bool:
        record = await store.get_launch(KEY)
        return record is not None and record.run_sent_at is not None

    await eventually(run_sent, what="this node's note that run is sent")
    assert await store.retry_launch(KEY, "node-b", stale_before=START + timedelta(hours=1))
    await store.finish_launch(KEY, LaunchState.STARTED, owner="node-b")
    await starting

    record = await store.get_launch(KEY)
    assert record is not None
    assert (record.state, record.claimed_by, record.last_error) == (LaunchState.STARTED, "node-b", None)


async def test_a_change_only_the_last_look_sees_moves_the_start(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    """Another connector instance synced the reschedule, so no pass of this one was told about it."""
    await put(store, meeting())
    launcher = scheduler(store, trueconf, clock, lead=LEAD)
    await at(clock, PREPARED, launcher)
    await put(store, meeting(start=START + timedelta(minutes=10)))

    clock.now = CLAIMED
    await launcher.wait_idle()
    assert await store.get_launch(KEY) is None  # nothing claimed for the old time
    await at(clock, START + timedelta(seconds=1), launcher)
    assert tcs.world.runs_of(CID) == []


@pytest.mark.parametrize("cancelled_at", [PREPARED + timedelta(seconds=10), CLAIMED + timedelta(milliseconds=500)],
                         ids=["after preparation", "after the claim"])
async def test_a_meeting_cancelled_before_its_start_is_not_started(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock, cancelled_at: datetime
) -> None:
    await put(store, meeting())
    launcher = scheduler(store, trueconf, clock, lead=LEAD)
    await at(clock, PREPARED, launcher)
    await at(clock, min(cancelled_at, CLAIMED), launcher)

    await put(store, meeting(cancelled=True))
    await at(clock, cancelled_at, launcher)
    await at(clock, START, launcher)
    await at(clock, START + timedelta(minutes=1), launcher)
    assert tcs.world.runs_of(CID) == []
    record = await store.get_launch(KEY)
    if cancelled_at < CLAIMED:
        assert record is None
    else:
        assert record is not None and record.state is LaunchState.SKIPPED


async def test_an_attendee_who_declines_after_preparation_is_taken_off_the_list_before_the_start(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting())
    launcher = scheduler(store, trueconf, clock, lead=LEAD)
    await at(clock, PREPARED, launcher)
    assert "bob" in invited(tcs)

    await put(store, meeting(bob=Response.DECLINED))
    await at(clock, PREPARED + timedelta(seconds=20), launcher)
    assert invited(tcs) == {"alice", "dave"}
    await at(clock, CLAIMED, launcher)
    await at(clock, START, launcher)
    [run] = tcs.world.runs_of(CID)
    assert set(run.invitations) == {"alice", "dave"}


async def test_temporal_mode_leaves_the_list_alone_and_calls_attendees_in_after_the_start(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting())
    scheduled = invited(tcs)
    launcher = scheduler(store, trueconf, clock, lead=LEAD, mode=ParticipantsMode.TEMPORAL)
    await at(clock, PREPARED, launcher)
    await at(clock, CLAIMED, launcher)
    assert tcs.world.live_invites == []

    await at(clock, START, launcher)
    [run] = tcs.world.runs_of(CID)
    assert set(run.invitations) == scheduled == invited(tcs)  # untouched
    [call] = tcs.world.live_invites
    assert call.user_ids == ("alice", "bob", "dave") and call.at >= run.at


async def test_meetings_starting_at_the_same_moment_start_together(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    cids = [f"room_{n}" for n in range(4)]
    for n, cid in enumerate(cids):
        tcs.world.create_conference({"id": cid, "topic": f"Room {n}", "owner": "alice"})
        await put(store, meeting(key=OccurrenceKey(f"room-{n}"), cid=cid))
    launcher = scheduler(store, trueconf, clock, lead=LEAD)
    await at(clock, PREPARED, launcher)
    await at(clock, CLAIMED, launcher)

    tcs.world.set_faults(latency=0.5)  # one after another, the last would start 1.5 s after the first
    await at(clock, START, launcher)
    runs = [run for cid in cids for run in tcs.world.runs_of(cid)]
    assert len(runs) == len(cids)
    # Together: well inside the time of two starts in a row (a loaded machine may delay one start a little).
    assert max(run.at for run in runs) - min(run.at for run in runs) < 1.0


async def test_stopping_hands_back_the_claim_and_the_restarted_launcher_starts_on_time(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting())
    stopping = scheduler(store, trueconf, clock, lead=LEAD)
    await at(clock, PREPARED, stopping)
    await at(clock, CLAIMED, stopping)
    await stopping.close()
    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.RELEASED and tcs.world.runs_of(CID) == []
    assert record.last_error == "the connector stopped before the start"

    restarted = scheduler(store, trueconf, clock, owner="node-b", lead=LEAD)
    await at(clock, CLAIMED + timedelta(milliseconds=100), restarted)
    await at(clock, START, restarted)
    assert len(tcs.world.runs_of(CID)) == 1
    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.STARTED and record.claimed_by == "node-b"


async def test_instances_preparing_the_same_meeting_start_it_exactly_once(
    database_url: str, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    """Two connector instances, each with its own connection pool to the same database, race for the claim."""
    stores = [Store.open(database_url, clock=clock) for _ in range(2)]
    try:
        await put(stores[0], meeting())
        launchers = [scheduler(stores[i % 2], trueconf, clock, owner=f"node-{i}", lead=LEAD) for i in range(4)]
        await at(clock, PREPARED, *launchers)
        await at(clock, CLAIMED, *launchers)
        await at(clock, START, *launchers)
        await at(clock, START + timedelta(seconds=5), *launchers)
        assert len(tcs.world.runs_of(CID)) == 1
        assert invited(tcs) == {"alice", "bob", "dave"}
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_when_the_conference_cannot_be_read_ahead_the_whole_launch_is_done_at_the_start(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting())
    launcher = scheduler(store, trueconf, clock, lead=LEAD)
    tcs.world.set_faults(server_errors=1000, server_error_status=503, server_error_path=f"/conferences/{CID}")
    await at(clock, PREPARED, launcher)
    await at(clock, CLAIMED, launcher)
    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.CLAIMED  # claimed all the same

    tcs.world.clear_faults()
    await at(clock, START, launcher)
    [run] = tcs.world.runs_of(CID)
    assert set(run.invitations) == {"alice", "bob", "dave"}
    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.STARTED


async def test_a_meeting_synced_while_the_launcher_sleeps_is_prepared_at_once(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    clock.now = PREPARED
    launcher = scheduler(store, trueconf, clock, lead=LEAD)
    stop = asyncio.Event()
    running = asyncio.create_task(launcher.run(stop))
    await asyncio.sleep(0.1)  # the pass found nothing and sleeps for max_sleep

    await put(store, meeting())
    launcher.poke()  # what the sync engine's change notification does
    async with asyncio.timeout(30):
        while "dave" not in invited(tcs):  # noqa: ASYNC110 - the simulator's world lives in its own thread
            await asyncio.sleep(0.01)
    stop.set()
    await running
    assert tcs.world.runs_of(CID) == [] and await store.get_launch(KEY) is None  # stopped before the claim
