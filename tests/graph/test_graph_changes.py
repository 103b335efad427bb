"""Each kind of change made in Exchange Online reaches a subscribed WebSocket client through the Graph provider
(delta polling): a new meeting, a reschedule, an answer, a modified and a deleted occurrence of a series, a
cancellation, and a deletion."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from graph_support import ALICE, BOB, WEB_LOGIN, WEB_PASSWORD, graph_entry, make_world, quick_sync, write_config

from ews_sim.world import DayOfWeek, NumberedRecurrence, Recurrence, WeeklyPattern, World
from graph_sim.server import GraphSimulator
from graph_sim.testing import running as graph_running
from tc_calendar.api.client import ApiClient, Subscription, WebAuth
from tc_calendar.config import load_settings
from tc_calendar.service import running_connector

Change = dict[str, Any]


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def graph(world: World) -> Iterator[GraphSimulator]:
    with graph_running(world) as sim:
        yield sim


@pytest.fixture
async def subscription(tmp_path: Path, graph: GraphSimulator) -> AsyncIterator[Subscription]:
    settings = load_settings(
        write_config(tmp_path, lambda box: [graph_entry(graph, box, [ALICE, BOB], pollIntervalSeconds=0.3)])
    )
    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
        await connector.sync.wait_synced(within=30)
        client = await ApiClient.connect(connector.url, WebAuth(WEB_LOGIN, WEB_PASSWORD))
        try:
            yield await client.subscribe([ALICE, BOB])
        finally:
            await client.close()


async def pushed(subscription: Subscription, wanted: Callable[[Change], bool]) -> Change:
    """The first change pushed to the client that ``wanted`` accepts (30 s at most)."""

    async def first() -> Change:
        async for note in subscription:
            for change in note["changes"]:
                if wanted(change):
                    return dict(change)
        raise AssertionError("the subscription ended")

    return await asyncio.wait_for(first(), 30)


def upsert_of(user: str, title: str, **fields: Any) -> Callable[[Change], bool]:
    def match(change: Change) -> bool:
        occurrence = change.get("occurrence") or {}
        return (
            change["kind"] == "upsert" and change["user"] == user and occurrence.get("title") == title
            and all(occurrence.get(k) == v for k, v in fields.items())
        )  # fmt: skip

    return match


def at(days: int, hour: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


async def test_each_kind_of_change_reaches_the_client(world: World, subscription: Subscription) -> None:
    start = at(2, 9)
    kickoff = world.create_meeting(ALICE, "Kickoff", start, start + timedelta(hours=1), required=[BOB])
    await pushed(subscription, upsert_of(BOB, "Kickoff"))

    later = start + timedelta(hours=2)
    world.update_meeting(ALICE, kickoff.uid, start=later, end=later + timedelta(hours=1))
    moved = await pushed(subscription, upsert_of(BOB, "Kickoff", start=later.strftime("%Y-%m-%dT%H:%M:%SZ")))
    assert moved["occurrence"]["start"].startswith(later.strftime("%Y-%m-%dT%H:%M"))

    world.respond(BOB, kickoff.uid, "Accept")
    answered = await pushed(
        subscription,
        lambda c: upsert_of(ALICE, "Kickoff")(c)
        and any({"email": BOB, "response": "Accepted"}.items() <= a.items() for a in c["occurrence"]["attendees"]),
    )
    assert answered["occurrence"]["myResponse"] == "Organizer"

    first = at(3, 14)
    weekly = Recurrence(WeeklyPattern((DayOfWeek(first.strftime("%A")),)), NumberedRecurrence(first.date(), 4))
    series = world.create_meeting(
        ALICE, "Weekly", first, first + timedelta(hours=1), required=[BOB], recurrence=weekly, time_zone="UTC"
    )
    await pushed(subscription, upsert_of(BOB, "Weekly"))
    shifted = first + timedelta(days=8)
    world.update_occurrence(ALICE, series.uid, 2, start=shifted, end=shifted + timedelta(hours=1), subject="Weekly*")
    exception = await pushed(subscription, upsert_of(BOB, "Weekly*"))
    assert exception["occurrence"]["recurrence"]["isException"] is True
    world.delete_occurrence(ALICE, series.uid, 3)
    third = (first + timedelta(weeks=2)).strftime("%Y-%m-%dT%H:%M")
    await pushed(
        subscription,
        lambda c: c["kind"] == "delete" and c["user"] == BOB and (c["key"]["recurrenceId"] or "").startswith(third),
    )

    world.cancel_meeting(ALICE, kickoff.uid)
    cancelled = await pushed(subscription, upsert_of(BOB, "Kickoff", cancelled=True))
    assert cancelled["occurrence"]["displayTitle"] == "Canceled: Kickoff"

    [copy] = [item for item in world.find_items(BOB) if item.uid == kickoff.uid]
    world.delete_item(copy.item_id)
    await pushed(subscription, lambda c: c["kind"] == "delete" and c["user"] == BOB and c["key"]["uid"] == kickoff.uid)
