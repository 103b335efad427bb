"""What each user sees after the connector synchronizes their Exchange calendars.

Every test builds its calendars in the Exchange simulator (organizer schedules, attendees answer, ...), runs the
sync service (exchangelib over a socket to the simulator, the real store on SQLite and PostgreSQL) and checks the
users' views in the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from engine_world import ALICE, BOB, CAROL, DAVE, OUTSIDER, SERVICE_LOGIN, SERVICE_PASSWORD
from sync_harness import FAST, SyncHarness

from ews_sim.server import EwsSimulator
from ews_sim.world import DayOfWeek, NumberedRecurrence, Recurrence, WeeklyPattern
from tc_calendar.model import ChangeKind, Response
from tc_calendar.store import Store
from tc_calendar.sync.window import window_at
from waiting import eventually

TOMORROW = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(10), tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
async def sync(ews_sim: EwsSimulator, store: Store) -> AsyncIterator[SyncHarness]:
    harness = SyncHarness(ews_sim, store, [(SERVICE_LOGIN, SERVICE_PASSWORD)])
    yield harness
    await harness.stop()


async def test_a_single_meeting_is_seen_by_its_organizer_and_attendees(sync: SyncHarness) -> None:
    sync.world.create_meeting(
        ALICE, "Marketing department meeting", TOMORROW, TOMORROW + HOUR / 2,
        required=[BOB], optional=[CAROL], body="Discussion of the work done last week.",
    )  # fmt: skip

    await sync.start([ALICE, BOB, CAROL, DAVE])

    (alice,) = await sync.view(ALICE)
    (bob,) = await sync.view(BOB)
    (carol,) = await sync.view(CAROL)
    assert alice.title == bob.title == carol.title == "Marketing department meeting"
    assert (bob.start, bob.end) == (TOMORROW, TOMORROW + HOUR / 2)
    assert alice.my_response is Response.ORGANIZER
    assert bob.my_response is Response.NO_RESPONSE
    assert bob.organizer == ALICE
    assert bob.attendees == ((BOB, "Required", "NoResponse"), (CAROL, "Optional", "NoResponse"))
    assert await sync.view(DAVE) == []


async def test_a_series_shows_its_occurrences_with_the_modified_one_moved_and_the_deleted_one_gone(
    sync: SyncHarness,
) -> None:
    first = TOMORROW
    weekly = Recurrence(
        WeeklyPattern((DayOfWeek(first.strftime("%A")),)), NumberedRecurrence(first.date(), 4)
    )
    meeting = sync.world.create_meeting(
        ALICE, "Weekly sync", first, first + HOUR, required=[BOB], recurrence=weekly, time_zone="UTC"
    )
    moved = first + timedelta(days=8)
    sync.world.update_occurrence(ALICE, meeting.uid, 2, start=moved, end=moved + HOUR, subject="Weekly sync (moved)")
    sync.world.delete_occurrence(ALICE, meeting.uid, 3)

    await sync.start([ALICE, BOB])

    for user in (ALICE, BOB):
        seen = await sync.view(user)
        assert [(s.title, s.start) for s in seen] == [
            ("Weekly sync", first),
            ("Weekly sync (moved)", first + timedelta(days=8)),
            ("Weekly sync", first + timedelta(days=21)),
        ], user


async def test_an_all_day_event_keeps_its_local_dates(sync: SyncHarness) -> None:
    day = TOMORROW.date() + timedelta(days=2)
    berlin_midnight = datetime.combine(day, time(0))
    sync.world.create_meeting(
        ALICE, "Offsite", berlin_midnight, berlin_midnight + timedelta(days=2), required=[CAROL], all_day=True,
        time_zone="Europe/Berlin",
    )  # fmt: skip

    await sync.start([ALICE, CAROL])

    for user in (ALICE, CAROL):
        (seen,) = await sync.view(user)
        assert seen.all_day
        assert (seen.start, seen.end) == (
            datetime.combine(day, time(0), tzinfo=UTC),
            datetime.combine(day + timedelta(days=2), time(0), tzinfo=UTC),
        )


def _dst_change_near(today: date, zone: ZoneInfo) -> date:
    """A day within three months of ``today`` on which ``zone`` changes its UTC offset."""
    for offset in range(-90, 91):
        day = today + timedelta(days=offset)
        before = datetime.combine(day, time(0), tzinfo=zone).utcoffset()
        after = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).utcoffset()
        if before != after:
            return day
    raise AssertionError("no DST change near today")


async def test_a_weekly_series_keeps_its_local_time_across_a_dst_change(sync: SyncHarness) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    change = _dst_change_near(datetime.now(UTC).date(), berlin)
    first_day = change - timedelta(days=14)
    local_start = datetime.combine(first_day, time(9))
    weekly = Recurrence(WeeklyPattern((DayOfWeek(first_day.strftime("%A")),)), NumberedRecurrence(first_day, 4))
    sync.world.create_meeting(
        ALICE, "Across DST", local_start, local_start + HOUR, required=[BOB], recurrence=weekly,
        time_zone="Europe/Berlin",
    )  # fmt: skip
    options = replace(FAST, backward_months=3, forward_months=3)

    await sync.start([ALICE, BOB], options=options)

    seen = await sync.view(BOB, days=130)
    starts = [s.start for s in seen]
    expected = [
        datetime.combine(first_day + timedelta(weeks=n), time(9), tzinfo=berlin).astimezone(UTC) for n in range(4)
    ]
    assert starts == expected
    assert {s.start.astimezone(berlin).hour for s in seen} == {9}
    assert len({s.start.utcoffset() for s in seen}) == 1 and expected[0].hour != expected[3].hour


async def test_attendee_answers_are_seen_by_the_organizer_and_by_each_attendee(sync: SyncHarness) -> None:
    meeting = sync.world.create_meeting(ALICE, "Planning", TOMORROW, TOMORROW + HOUR, required=[BOB, CAROL, DAVE])
    service = await sync.start([ALICE, BOB, CAROL, DAVE])

    sync.world.respond(BOB, meeting.uid, "Accept")
    sync.world.respond(CAROL, meeting.uid, "Tentative")
    sync.world.respond(DAVE, meeting.uid, "Decline")

    async def answered() -> bool:
        alice, bob, carol, dave = [await sync.view(user) for user in (ALICE, BOB, CAROL, DAVE)]
        return (
            len(alice) == len(bob) == len(carol) == 1
            and alice[0].attendees
            == ((BOB, "Required", "Accepted"), (CAROL, "Required", "Tentative"), (DAVE, "Required", "Declined"))
            and bob[0].my_response is Response.ACCEPTED
            and carol[0].my_response is Response.TENTATIVE
            and dave == []  # Exchange removes a declined meeting from the attendee's calendar
        )

    await eventually(answered, what="the answers in the organizer's and the attendees' views")
    assert service is sync.service


async def test_a_rescheduled_meeting_moves_for_everyone(sync: SyncHarness) -> None:
    meeting = sync.world.create_meeting(ALICE, "Review", TOMORROW, TOMORROW + HOUR, required=[BOB])
    await sync.start([ALICE, BOB])

    later = TOMORROW + timedelta(days=2, hours=3)
    sync.world.update_meeting(ALICE, meeting.uid, start=later, end=later + HOUR)

    async def moved() -> bool:
        views = [await sync.view(user) for user in (ALICE, BOB)]
        return all(len(v) == 1 and (v[0].start, v[0].end) == (later, later + HOUR) for v in views)

    await eventually(moved, what="the new time in both views")


async def test_a_cancelled_meeting_shows_as_canceled_to_the_attendees(sync: SyncHarness) -> None:
    meeting = sync.world.create_meeting(ALICE, "Budget", TOMORROW, TOMORROW + HOUR, required=[BOB, CAROL])
    await sync.start([ALICE, BOB, CAROL])

    sync.world.cancel_meeting(ALICE, meeting.uid)

    async def cancelled() -> bool:
        views = [await sync.view(user) for user in (BOB, CAROL)]
        return all(len(v) == 1 and v[0].cancelled and v[0].title == "Canceled: Budget" for v in views)

    await eventually(cancelled, what="Canceled: Budget for the attendees")
    assert await sync.view(ALICE) == []


async def test_a_meeting_scheduled_by_a_delegate_shows_the_owner_as_organizer(sync: SyncHarness) -> None:
    sync.world.grant_delegate(ALICE, CAROL)
    sync.world.create_meeting(ALICE, "Board meeting", TOMORROW, TOMORROW + HOUR, required=[BOB], as_delegate=CAROL)

    await sync.start([ALICE, BOB, CAROL])

    (bob,) = await sync.view(BOB)
    assert bob.organizer == ALICE
    assert (await sync.view(ALICE))[0].my_response is Response.ORGANIZER
    assert CAROL not in [email for email, _, _ in bob.attendees]


async def test_a_meeting_whose_organizer_is_not_synced_is_shown_from_the_attendees_copy(sync: SyncHarness) -> None:
    sync.world.create_meeting(OUTSIDER, "Vendor call", TOMORROW, TOMORROW + HOUR, required=[BOB, CAROL])

    await sync.start([BOB, CAROL])

    (bob,) = await sync.view(BOB)
    assert bob.title == "Vendor call"
    assert bob.organizer == OUTSIDER
    assert [email for email, _, _ in bob.attendees] == [BOB, CAROL]
    assert await sync.view(OUTSIDER) == []


async def test_with_auto_sync_off_only_meetings_created_or_changed_after_the_first_start_appear(
    sync: SyncHarness,
) -> None:
    old = sync.world.create_meeting(ALICE, "Old meeting", TOMORROW, TOMORROW + HOUR, required=[BOB])
    sync.world.create_meeting(ALICE, "Untouched", TOMORROW + 2 * HOUR, TOMORROW + 3 * HOUR, required=[BOB])
    await asyncio.sleep(1.1)  # Exchange's LastModifiedTime has whole seconds
    options = replace(FAST, auto_sync=False)

    await sync.start([ALICE, BOB], options=options)
    assert await sync.view(BOB) == []

    sync.world.create_meeting(ALICE, "New meeting", TOMORROW + 4 * HOUR, TOMORROW + 5 * HOUR, required=[BOB])
    sync.world.update_meeting(ALICE, old.uid, location="Room 42")

    async def arrived() -> bool:
        return sorted(await sync.titles(BOB)) == ["New meeting", "Old meeting"]

    await eventually(arrived, what="new and changed meetings")


async def test_with_auto_sync_on_existing_meetings_appear_at_the_first_start(sync: SyncHarness) -> None:
    sync.world.create_meeting(ALICE, "Old meeting", TOMORROW, TOMORROW + HOUR, required=[BOB])
    await asyncio.sleep(1.1)

    await sync.start([ALICE, BOB])

    assert await sync.titles(BOB) == ["Old meeting"]


async def test_a_change_reaches_the_change_log_within_seconds_through_streaming(sync: SyncHarness) -> None:
    await sync.start([ALICE, BOB])
    await sync.streaming([ALICE, BOB])
    cursor = await sync.store.latest_cursor()

    started = asyncio.get_running_loop().time()
    sync.world.create_meeting(ALICE, "Ad hoc", TOMORROW, TOMORROW + HOUR, required=[BOB])

    async def logged() -> bool:
        changes = await sync.store.changes_after(cursor)
        return {(c.kind, c.user) for c in changes} == {(ChangeKind.UPSERT, ALICE), (ChangeKind.UPSERT, BOB)}

    await eventually(logged, within=10, what="change-log entries for both users")
    assert asyncio.get_running_loop().time() - started < 10  # seconds, not a poll interval (600 s here)
    assert {c.user for c in sync.notified if c.cursor > cursor} == {ALICE, BOB}
    assert sync.requests("GetStreamingEvents", "started") >= 1


async def test_when_the_window_slides_a_series_keeps_exactly_the_occurrences_inside_it(sync: SyncHarness) -> None:
    today = datetime.combine(datetime.now(UTC).date(), time(9), tzinfo=UTC)
    first = today - timedelta(weeks=6)
    weekly = Recurrence(WeeklyPattern((DayOfWeek(first.strftime("%A")),)), NumberedRecurrence(first.date(), 30))
    sync.world.create_meeting(ALICE, "Weekly", first, first + HOUR, required=[BOB], recurrence=weekly, time_zone="UTC")
    sync.world.create_meeting(ALICE, "Later", today + timedelta(days=50), today + timedelta(days=50) + HOUR)
    now = [datetime.now(UTC)]
    options = replace(FAST, backward_months=1, forward_months=1)
    service = sync.build([ALICE, BOB], options=options, clock=lambda: now[0])
    await service.start()
    await service.wait_synced(within=20)

    now[0] += timedelta(days=30)
    service.trigger(ALICE)
    service.trigger(BOB)
    window = window_at(now[0], 1, 1)
    expected = [first + timedelta(weeks=n) for n in range(30) if window.contains(first + timedelta(weeks=n))]

    async def slid() -> bool:
        bob = [s.start for s in await sync.view(BOB, days=200)]
        alice = sorted(s.start for s in await sync.view(ALICE, days=200))
        return bob == expected and alice == sorted([*expected, today + timedelta(days=50)])

    await eventually(slid, what="the series over the moved window")
