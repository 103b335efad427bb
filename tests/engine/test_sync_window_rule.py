"""Which events a user sees, by their dates: guide 3.1.2 defines ``cache.backward`` and ``cache.forward`` as the months
"to display recurring events".

A single meeting is shown from ``backward`` months ago on, however far ahead (up to the safety limit, two years
after the window's start); a series shows its occurrences within ``backward``/``forward``. Each test builds the
calendars in the Exchange simulator and runs the sync service over a socket, with the guide's defaults (2 months
back, 3 ahead) and a clock the test moves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest
from engine_world import ALICE, BOB, SERVICE_LOGIN, SERVICE_PASSWORD
from sync_harness import FAST, SyncHarness

from ews_sim.server import EwsSimulator
from ews_sim.world import DayOfWeek, NoEndRecurrence, Recurrence, WeeklyPattern
from tc_calendar.store import Store
from tc_calendar.sync.window import window_at
from waiting import eventually

NOW = datetime.now(UTC)
TODAY = datetime.combine(NOW.date(), time(10), tzinfo=UTC)
HOUR = timedelta(hours=1)
GUIDE_DEFAULTS = replace(FAST, backward_months=2, forward_months=3)
YEARS = 3 * 365  # a view of the store wide enough for everything the connector keeps


@pytest.fixture
async def sync(ews_sim: EwsSimulator, store: Store) -> AsyncIterator[SyncHarness]:
    harness = SyncHarness(ews_sim, store, [(SERVICE_LOGIN, SERVICE_PASSWORD)])
    yield harness
    await harness.stop()


async def starts(sync: SyncHarness, user: str) -> list[tuple[str, datetime]]:
    return [(seen.title, seen.start) for seen in await sync.view(user, days=YEARS)]


async def test_single_meetings_four_and_ten_months_ahead_are_shown(sync: SyncHarness) -> None:
    in_four = TODAY + timedelta(days=122)
    in_ten = TODAY + timedelta(days=305)
    sync.world.create_meeting(ALICE, "Budget review", in_four, in_four + HOUR, required=[BOB])
    sync.world.create_meeting(ALICE, "Annual planning", in_ten, in_ten + HOUR, required=[BOB])

    await sync.start([ALICE, BOB], options=GUIDE_DEFAULTS)

    for user in (ALICE, BOB):
        assert await starts(sync, user) == [("Budget review", in_four), ("Annual planning", in_ten)], user


async def test_a_weekly_series_shows_its_occurrences_only_within_forward(sync: SyncHarness) -> None:
    first = TODAY - timedelta(weeks=12)
    weekly = Recurrence(WeeklyPattern((DayOfWeek(first.strftime("%A")),)), NoEndRecurrence(first.date()))
    sync.world.create_meeting(ALICE, "Weekly", first, first + HOUR, required=[BOB], recurrence=weekly, time_zone="UTC")

    await sync.start([ALICE, BOB], options=GUIDE_DEFAULTS)

    window = window_at(NOW, 2, 3)
    occurrences = [first + timedelta(weeks=n) for n in range(40)]
    expected = [("Weekly", start) for start in occurrences if window.contains(start)]
    assert expected[0][1] < TODAY < expected[-1][1] < TODAY + timedelta(days=94)
    assert await starts(sync, BOB) == expected


async def test_a_single_meeting_moved_from_inside_to_outside_forward_stays_visible(sync: SyncHarness) -> None:
    soon = TODAY + timedelta(days=7)
    meeting = sync.world.create_meeting(ALICE, "Offsite", soon, soon + HOUR, required=[BOB])
    await sync.start([ALICE, BOB], options=GUIDE_DEFAULTS)
    await sync.streaming([ALICE, BOB])
    assert await starts(sync, BOB) == [("Offsite", soon)]

    later = TODAY + timedelta(days=200)
    sync.world.update_meeting(ALICE, meeting.uid, start=later, end=later + HOUR)

    async def moved() -> bool:
        return all([await starts(sync, user) == [("Offsite", later)] for user in (ALICE, BOB)])

    await eventually(moved, what="the meeting at its new date, months beyond forward")


async def test_answers_and_the_cancellation_of_a_meeting_months_ahead_reach_everyone(sync: SyncHarness) -> None:
    far = TODAY + timedelta(days=250)
    meeting = sync.world.create_meeting(ALICE, "Kick-off", far, far + HOUR, required=[BOB])
    await sync.start([ALICE, BOB], options=GUIDE_DEFAULTS)
    await sync.streaming([ALICE, BOB])

    sync.world.respond(BOB, meeting.uid, "Accept")

    async def accepted() -> bool:
        alice = [seen.attendees for seen in await sync.view(ALICE, days=YEARS)]
        bob = [seen.my_response.value for seen in await sync.view(BOB, days=YEARS)]
        return alice == [((BOB, "Required", "Accepted"),)] and bob == ["Accepted"]

    await eventually(accepted, what="Bob's answer in both calendars")

    sync.world.cancel_meeting(ALICE, meeting.uid)

    async def cancelled() -> bool:
        bob = [(seen.title, seen.cancelled) for seen in await sync.view(BOB, days=YEARS)]
        return bob == [("Canceled: Kick-off", True)] and await sync.view(ALICE, days=YEARS) == []

    await eventually(cancelled, what="the cancellation in Bob's calendar")


async def test_a_single_meeting_older_than_backward_is_not_shown(sync: SyncHarness) -> None:
    too_old = TODAY - timedelta(days=70)
    recent = TODAY - timedelta(days=50)
    sync.world.create_meeting(ALICE, "Too old", too_old, too_old + HOUR, required=[BOB])
    sync.world.create_meeting(ALICE, "Recent", recent, recent + HOUR, required=[BOB])

    await sync.start([ALICE, BOB], options=GUIDE_DEFAULTS)

    assert await starts(sync, BOB) == [("Recent", recent)]


async def test_the_daily_slide_brings_single_meetings_that_came_within_the_safety_limit(sync: SyncHarness) -> None:
    now = [NOW]
    limit = window_at(NOW, 2, 3).singles_end
    far = limit + timedelta(hours=10)  # within the limit tomorrow, not today
    sync.world.create_meeting(ALICE, "Far ahead", far, far + HOUR, required=[BOB])
    sync.world.create_meeting(ALICE, "Near", TODAY + timedelta(days=1), TODAY + timedelta(days=1, hours=1))
    service = sync.build([ALICE, BOB], options=GUIDE_DEFAULTS, clock=lambda: now[0])
    await service.start()
    await service.wait_synced(within=30)
    assert [title for title, _ in await starts(sync, ALICE)] == ["Near"]
    before = sync.requests("FindItem")

    now[0] += timedelta(days=1)
    service.trigger(ALICE)
    service.trigger(BOB)

    async def slid() -> bool:
        alice = [title for title, _ in await starts(sync, ALICE)]
        return alice == ["Near", "Far ahead"] and await starts(sync, BOB) == [("Far ahead", far)]

    await eventually(slid, what="the far meeting after the slide")
    # per mailbox, one view of the day that came within forward and one of the day that came within the limit
    assert sync.requests("FindItem") - before == 4


async def test_with_auto_sync_off_a_far_single_meeting_appears_only_when_created_after_the_first_start(
    sync: SyncHarness,
) -> None:
    far = TODAY + timedelta(days=200)
    sync.world.clock.advance(-5)  # created well before the first start (LastModifiedTime has whole seconds)
    sync.world.create_meeting(ALICE, "Existing", far, far + HOUR, required=[BOB])
    sync.world.clock.advance(5)

    await sync.start([ALICE, BOB], options=replace(GUIDE_DEFAULTS, auto_sync=False))
    await sync.streaming([ALICE, BOB])
    assert await starts(sync, BOB) == []

    sync.world.clock.advance(2)
    sync.world.create_meeting(ALICE, "Booked later", far + HOUR, far + 2 * HOUR, required=[BOB])

    async def arrived() -> bool:
        return await starts(sync, BOB) == [("Booked later", far + HOUR)]

    await eventually(arrived, what="the meeting booked after the first start")
