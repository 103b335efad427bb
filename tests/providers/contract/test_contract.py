"""The provider contract: the same calendars, read through any provider, give users the same views.

Each test runs once per provider (``side``: EWS through exchangelib, Graph through msal and httpx), each over its
simulator on a socket, with the sync service and the real store in between, and compares what the users see.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

from contract_sides import Side
from contract_world import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    STANDUP_LINK,
    TOMORROW,
    USERS,
    Seen,
    build_calendars,
    change_calendars,
)

from tc_calendar.backoff import BackoffPolicy
from tc_calendar.engine.planner import DiffPlanner
from tc_calendar.engine.runner import SyncOptions
from tc_calendar.engine.service import SyncService
from tc_calendar.model import Response
from tc_calendar.providers.base import CalendarProvider
from tc_calendar.store import Store
from tc_calendar.sync.links import LinkFinder
from tc_calendar.sync.normalize import normalize_items
from tc_calendar.sync.window import window_at
from waiting import eventually

OPTIONS = SyncOptions(
    auto_sync=True,
    backward_months=1,
    forward_months=2,
    poll_interval=600.0,
    fallback_poll_interval=0.3,
    transient_retry=BackoffPolicy(base=0.05, cap=0.3),
    error_retry=BackoffPolicy(base=0.1, cap=0.3),
)
HOUR = timedelta(hours=1)


async def views(store: Store) -> dict[str, list[Seen]]:
    now = datetime.now(UTC)
    start, end = now - timedelta(days=30), now + timedelta(days=60)
    return {user: [Seen.of(o, r) for o, r in await store.load_view(user, start, end)] for user in USERS}


def service(store: Store, provider: CalendarProvider) -> SyncService:
    return SyncService(store, [provider], [list(USERS)], planner=DiffPlanner(), options=OPTIONS)


def titles(seen: Sequence[Seen]) -> list[tuple[str, datetime]]:
    return [(s.title, s.start) for s in seen]


async def test_a_window_read_gives_each_user_the_meetings_they_are_in(side: Side) -> None:
    build_calendars(side.world)
    provider = side.make()
    window = window_at(datetime.now(UTC), 1, 2)

    snapshot = await provider.read_window(BOB, window, None)
    seen = normalize_items(snapshot.items, window, LinkFinder())

    assert snapshot.sync_state
    assert [(s.occurrence.display_title, s.occurrence.start, s.my_response) for s in seen] == [
        ("Standup", TOMORROW, Response.ACCEPTED),
        ("Weekly review", TOMORROW + 2 * HOUR, Response.NO_RESPONSE),
        ("Canceled: Budget", TOMORROW + 5 * HOUR, Response.NO_RESPONSE),
        ("Weekly review (moved)", TOMORROW + timedelta(days=8, hours=2), Response.NO_RESPONSE),
        ("Weekly review", TOMORROW + timedelta(days=21, hours=2), Response.NO_RESPONSE),
    ]


async def test_the_scenario_gives_every_user_the_same_view_through_every_provider(side: Side, store: Store) -> None:
    build_calendars(side.world)
    sync = service(store, side.make())
    await sync.start()
    try:
        await sync.wait_synced(within=30)
        seen = await views(store)
    finally:
        await sync.stop(grace_seconds=5)

    standup = seen[BOB][0]
    assert standup.title == "Standup" and standup.conference == STANDUP_LINK
    assert standup.organizer == ALICE
    assert standup.attendees == ((BOB, "Required", "Accepted"), (CAROL, "Optional", "Tentative"))
    assert [s.my_response for s in seen[ALICE] if s.title == "Standup"] == [Response.ORGANIZER]
    assert titles(seen[BOB]) == [
        ("Standup", TOMORROW),
        ("Weekly review", TOMORROW + 2 * HOUR),
        ("Canceled: Budget", TOMORROW + 5 * HOUR),
        ("Weekly review (moved)", TOMORROW + timedelta(days=8, hours=2)),
        ("Weekly review", TOMORROW + timedelta(days=21, hours=2)),
    ]
    assert all(s.recurring for s in seen[BOB] if s.title.startswith("Weekly review"))
    (offsite,) = seen[DAVE]
    assert (offsite.title, offsite.all_day, offsite.start.date()) == ("Offsite", True, TOMORROW.date())
    planning = next(s for s in seen[ALICE] if s.title == "Carol's planning")
    assert planning.organizer == CAROL  # scheduled by her delegate Dave, shown as Carol's
    assert titles(seen[CAROL]) == [("Standup", TOMORROW), ("Carol's planning", TOMORROW + 7 * HOUR)]


async def test_changes_after_the_first_sync_reach_every_user_through_every_provider(side: Side, store: Store) -> None:
    build_calendars(side.world)
    sync = service(store, side.make())
    await sync.start()
    try:
        await sync.wait_synced(within=30)
        change_calendars(side.world)
        for user in USERS:
            sync.trigger(user)

        async def changed() -> bool:
            seen = await views(store)
            return any(s.title == "Retro" for s in seen[DAVE]) and not any(s.title == "Offsite" for s in seen[DAVE])

        await eventually(changed, what="the changes")
        for user in USERS:
            sync.trigger(user)
        await asyncio.sleep(0)
        await eventually(lambda: _settled(store), what="a settled store")
        seen = await views(store)
    finally:
        await sync.stop(grace_seconds=5)

    assert titles(seen[DAVE]) == [("Retro", TOMORROW + 9 * HOUR)]
    assert titles(seen[BOB]) == [
        ("Standup (new room)", TOMORROW),
        ("Weekly review", TOMORROW + 2 * HOUR),
        ("Canceled: Budget", TOMORROW + 5 * HOUR),
        ("Retro", TOMORROW + 9 * HOUR),
        ("Weekly review (moved)", TOMORROW + timedelta(days=8, hours=2)),
        ("Weekly review", TOMORROW + timedelta(days=21, hours=4)),
    ]
    assert seen[BOB][0].location == "Room 2"
    assert titles(seen[CAROL]) == [("Carol's planning", TOMORROW + 7 * HOUR)]  # she declined the standup
    standup = next(s for s in seen[ALICE] if s.title == "Standup (new room)")
    assert (CAROL, "Optional", "Declined") in standup.attendees


async def _settled(store: Store) -> bool:
    first = await views(store)
    await asyncio.sleep(0.5)
    return first == await views(store)


async def test_both_protocols_give_the_same_records_of_one_world() -> None:
    """One world behind EWS and Graph at once: every user's occurrences, everything a user sees of them, are equal."""
    from contract_sides import ews_side, graph_side
    from contract_world import make_world

    world = make_world()
    build_calendars(world)
    window = window_at(datetime.now(UTC), 1, 2)
    with ExitStack() as stack:
        providers = [ews_side(world, stack)(), graph_side(world, stack)()]
        try:
            seen = []
            for provider in providers:
                occurrences = {}
                for user in USERS:
                    snapshot = await provider.read_window(user, window, None)
                    for found in normalize_items(snapshot.items, window, LinkFinder()):
                        occurrences[(user, found.occurrence.key)] = (found.occurrence, found.my_response)
                seen.append(occurrences)
        finally:
            for provider in providers:
                await provider.aclose()

    ews, graph = seen
    assert set(graph) - set(ews) == set() and set(ews) - set(graph) == set()
    for key, (occurrence, response) in ews.items():
        assert graph[key] == (occurrence, response), key
