"""The Graph provider against the simulator: delta links that expire, throttling honoured per mailbox, at most
four requests in flight per mailbox, and JSON batches when many mailboxes poll at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from graph_support import ALICE, BOB, CAROL, make_world

from ews_sim.world import DayOfWeek, NumberedRecurrence, Recurrence, WeeklyPattern, World
from graph_sim.server import GraphSimulator
from graph_sim.testing import running as graph_running
from tc_calendar.backoff import BackoffPolicy
from tc_calendar.engine.planner import DiffPlanner
from tc_calendar.engine.runner import SyncOptions
from tc_calendar.engine.service import SyncService
from tc_calendar.providers._graph_http import GraphHttp
from tc_calendar.providers.base import ThrottledError
from tc_calendar.providers.graph import GraphProvider
from tc_calendar.providers.graph_auth import GraphCredential, GraphEndpoints, GraphTokenSource
from tc_calendar.store import Store
from tc_calendar.sync.window import window_at
from waiting import eventually

WINDOW = window_at(datetime.now(UTC), 1, 2)
OPTIONS = SyncOptions(
    auto_sync=True, backward_months=1, forward_months=2, poll_interval=600.0, fallback_poll_interval=600.0,
    transient_retry=BackoffPolicy(base=0.05, cap=0.3), error_retry=BackoffPolicy(base=0.1, cap=0.3),
)  # fmt: skip


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def graph(world: World) -> Iterator[GraphSimulator]:
    with graph_running(world) as sim:
        yield sim


def provider_for(graph: GraphSimulator, **options: object) -> GraphProvider:
    credential = GraphCredential(graph.tenant_id, graph.client_id, secret=graph.client_secret)
    tokens = GraphTokenSource(credential, GraphEndpoints(graph.base_url, graph.base_url, "https://graph.microsoft.com"),
                              verify=graph.ca_file)  # fmt: skip
    return GraphProvider(GraphHttp(graph.graph_url, tokens, verify=graph.ca_file), **options)  # type: ignore[arg-type]


@pytest.fixture
async def provider(graph: GraphSimulator) -> AsyncIterator[GraphProvider]:
    made = provider_for(graph, page_size=2)
    yield made
    await made.aclose()


def soon(hours: int = 0) -> datetime:
    return (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(
        hours=hours
    )


def requests_of(graph: GraphSimulator, mailbox: str) -> int:
    return int(graph.gate.counters()["mailboxes"].get(mailbox, {}).get("total", 0))


async def test_an_expired_delta_link_leads_to_a_window_resync_with_nothing_lost_or_doubled(
    graph: GraphSimulator, world: World, provider: GraphProvider, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    keep = world.create_meeting(ALICE, "Kept", soon(), soon(1), required=[BOB])
    gone = world.create_meeting(ALICE, "Dropped", soon(2), soon(3), required=[BOB])
    for n in range(5):
        world.create_appointment(BOB, f"Focus {n}", soon(4 + n), soon(5 + n))
    sync = SyncService(store, [provider], [[BOB]], planner=DiffPlanner(), options=OPTIONS)
    await sync.start()
    try:
        await sync.wait_synced(within=30)
        graph.deltas.expire(BOB)
        world.cancel_meeting(ALICE, gone.uid)
        world.update_meeting(ALICE, keep.uid, subject="Kept (renamed)")
        world.create_meeting(ALICE, "Added", soon(12), soon(13), required=[BOB])
        sync.trigger(BOB)

        async def resynced() -> bool:
            titles = await _titles(store)
            return "Added" in titles and "Kept (renamed)" in titles

        await eventually(resynced, what="the resync after the expired delta link")
        titles = await _titles(store)
    finally:
        await sync.stop(grace_seconds=5)

    assert sorted(titles) == sorted(["Kept (renamed)", "Canceled: Dropped", "Added", *(f"Focus {n}" for n in range(5))])
    assert "no longer accepts the saved delta link" in caplog.text


async def _titles(store: Store) -> list[str]:
    now = datetime.now(UTC)
    return [o.display_title for o, _ in await store.load_view(BOB, now - timedelta(days=30), now + timedelta(days=60))]


async def test_a_throttled_mailbox_waits_its_retry_after_while_the_others_go_on(
    graph: GraphSimulator, world: World, provider: GraphProvider
) -> None:
    world.create_appointment(ALICE, "Alice's", soon(), soon(1))
    world.create_appointment(BOB, "Bob's", soon(), soon(1))
    graph.gate.add_fault(429, 1, retry_after=2, mailbox=BOB)

    with pytest.raises(ThrottledError) as throttled:
        await provider.read_window(BOB, WINDOW, None)
    assert throttled.value.backoff_seconds == pytest.approx(2, abs=0.01)
    asked = requests_of(graph, BOB)
    with pytest.raises(ThrottledError) as again:  # within Retry-After: refused here, never sent
        await provider.read_window(BOB, WINDOW, None)
    assert 0 < again.value.backoff_seconds <= 2
    assert requests_of(graph, BOB) == asked
    alice = await provider.read_window(ALICE, WINDOW, None)  # another mailbox is not held up
    assert [i.subject for i in alice.items] == ["Alice's"]

    await asyncio.sleep(provider.http.throttled_for(BOB))
    bob = await provider.read_window(BOB, WINDOW, None)
    assert [i.subject for i in bob.items] == ["Bob's"]


async def test_never_more_than_four_requests_are_in_flight_for_one_mailbox(
    graph: GraphSimulator, world: World, provider: GraphProvider
) -> None:
    world.create_appointment(BOB, "Bob's", soon(), soon(1))
    graph.gate.latency_ms = 200

    reads = await asyncio.gather(*(provider.read_window(BOB, WINDOW, None) for _ in range(10)))

    assert all([i.subject for i in read.items] == ["Bob's"] for read in reads)  # none refused with 429
    assert provider.http.peak_in_flight[BOB] == 4


async def test_mailboxes_polled_together_share_json_batches(
    graph: GraphSimulator, world: World, provider: GraphProvider
) -> None:
    mailboxes = [f"user{n}@corp.test" for n in range(12)]
    for mailbox in mailboxes:
        world.add_mailbox(mailbox, mailbox.split("@")[0].title(), "UTC")
    snapshots = [await provider.read_window(m, WINDOW, None) for m in mailboxes]
    for mailbox in mailboxes:
        world.create_appointment(mailbox, f"New for {mailbox}", soon(), soon(1))
    graph.gate.reset_counters()

    pairs = zip(mailboxes, snapshots, strict=True)
    batches = await asyncio.gather(*(provider.sync_changes(m, s.sync_state) for m, s in pairs))

    assert [[i.subject for i in b.items] for b in batches] == [[f"New for {m}"] for m in mailboxes]
    assert graph.gate.counters()["http_requests"] <= 2  # 12 delta requests in one or two $batch requests
    assert CAROL not in graph.gate.counters()["mailboxes"]


async def test_a_window_round_reads_the_patterns_of_many_series_with_one_query(
    graph: GraphSimulator, world: World
) -> None:
    for n in range(6):
        first = soon(n)
        weekly = Recurrence(WeeklyPattern((DayOfWeek(first.strftime("%A")),)), NumberedRecurrence(first.date(), 3))
        world.create_appointment(BOB, f"Series {n}", first, first + timedelta(minutes=30), recurrence=weekly)
    graph.gate.reset_counters()
    provider = provider_for(graph, page_size=100)
    try:
        snapshot = await provider.read_window(BOB, WINDOW, None)
    finally:
        await provider.aclose()

    assert len(snapshot.items) == 18 and all(item.recurrence is not None for item in snapshot.items)
    assert graph.gate.counters()["mailboxes"][BOB] == {"calendarView.delta": 1, "events.list": 1, "total": 2}


async def test_a_closed_provider_leaves_no_connection_open_to_graph_or_to_the_token_endpoint(
    graph: GraphSimulator, world: World
) -> None:
    world.create_meeting(ALICE, "Review", soon(), soon(1), required=[BOB])
    provider = provider_for(graph)
    assert (await provider.read_window(ALICE, WINDOW, None)).items  # a token, then Graph itself
    assert graph.open_connections > 0
    await provider.aclose()
    # Else the connections stay until the process ends, and the server waits for them when it stops.
    await eventually(lambda: graph.open_connections == 0, what="the provider's connections closed")
