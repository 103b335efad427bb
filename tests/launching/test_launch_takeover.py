"""A claim left behind by a connector that died mid-start is taken over knowing that a start may have been sent.

The connector writes down that it is sending ``run`` before it sends it. A connector taking over a claim left
behind asks TrueConf Server about the conference when ``run`` may have been sent: running, the start is recorded as
made; not running, it may have been started and stopped since, so it is not started a second time, and the record
says so. Without that note the takeover starts the conference as before (late, within the grace period). A start
missed by more than the grace period is recorded as missed, never made.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from launching_support import CID, KEY, START, Clock, meeting, put, scheduler

from tc_calendar.launch_scheduler import STALE_CLAIM, LaunchScheduler
from tc_calendar.store import Store
from tc_calendar.store.records import LaunchState
from tc_calendar.trueconf.auth import ClientCredentials
from tc_calendar.trueconf.client import TrueConfClient
from tcs_sim.runner import SimServer
from tcs_sim.seed import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

TAKEN_OVER = START + STALE_CLAIM + timedelta(seconds=10)


class DiesWithRunInFlight(httpx.AsyncBaseTransport):
    """The network under a connector that is killed while its ``run`` request is in flight: the request reaches
    TrueConf Server, the answer never reaches the connector."""

    def __init__(self) -> None:
        self._network = httpx.AsyncHTTPTransport()
        self.run_arrived = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._network.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/run"):
            await response.aread()
            await response.aclose()
            self.run_arrived.set()
            await asyncio.Event().wait()  # killed here
        return response

    async def aclose(self) -> None:
        await self._network.aclose()


class LosesTheRunAnswer(httpx.AsyncBaseTransport):
    """A network that carries ``run`` to TrueConf Server and loses its answer (the connector sees a read timeout)."""

    def __init__(self) -> None:
        self._network = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._network.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/run"):
            await response.aread()
            await response.aclose()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    async def aclose(self) -> None:
        await self._network.aclose()


@pytest.fixture
async def dying_client(tcs: SimServer) -> AsyncIterator[tuple[TrueConfClient, DiesWithRunInFlight]]:
    network = DiesWithRunInFlight()
    client = TrueConfClient(tcs.url, ClientCredentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET), api_version="v4",
                            timeout=5.0, transport=network)
    yield client, network
    await client.aclose()


async def killed_while_run_is_in_flight(store: Store, client: TrueConfClient, network: DiesWithRunInFlight,
                                        clock: Clock) -> None:
    """A connector claims the start, sends ``run``, and is killed (kill -9) before the answer arrives."""
    doomed = scheduler(store, client, clock, owner="node-killed")
    clock.now = START
    await doomed.run_once()
    await asyncio.wait_for(network.run_arrived.wait(), 30)
    launches = [task for task in asyncio.all_tasks() if task.get_name() == f"launch {KEY.uid}"]
    for task in launches:  # nothing more of that process runs: no outcome is written, no claim handed back
        task.cancel()
    await asyncio.gather(*launches, return_exceptions=True)


async def restarted(store: Store, trueconf: TrueConfClient, clock: Clock) -> LaunchScheduler:
    """The connector comes back; after the claim went stale it takes it over."""
    launcher = scheduler(store, trueconf, clock, owner="node-restarted")
    clock.now = START + timedelta(seconds=5)
    await launcher.run_once()
    await launcher.wait_idle()
    clock.now = TAKEN_OVER
    for _ in range(2):
        await launcher.run_once()
        await launcher.wait_idle()
    return launcher


async def test_a_conference_stopped_after_a_start_left_unanswered_is_not_started_again(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock,
    dying_client: tuple[TrueConfClient, DiesWithRunInFlight],
) -> None:
    await put(store, meeting())
    await killed_while_run_is_in_flight(store, *dying_client, clock)
    assert len(tcs.world.runs_of(CID)) == 1
    tcs.world.stop_conference(CID)  # the organizer ends it early, while the connector is down

    await restarted(store, trueconf, clock)

    assert len(tcs.world.runs_of(CID)) == 1
    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.SKIPPED
    assert record.last_error is not None and "may have been started" in record.last_error
    assert record.run_sent_at == START


async def test_a_conference_running_after_a_start_left_unanswered_is_recorded_as_started(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock,
    dying_client: tuple[TrueConfClient, DiesWithRunInFlight],
) -> None:
    await put(store, meeting())
    await killed_while_run_is_in_flight(store, *dying_client, clock)

    await restarted(store, trueconf, clock)

    assert len(tcs.world.runs_of(CID)) == 1
    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.STARTED


async def test_a_claim_left_before_run_was_sent_is_taken_over_and_started_late(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting())
    clock.now = START - timedelta(seconds=2)
    assert await store.claim_launch(KEY, CID, START, "node-killed")  # killed between the claim and run

    await restarted(store, trueconf, clock)

    assert len(tcs.world.runs_of(CID)) == 1
    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.STARTED and record.late


async def test_a_claim_left_behind_longer_than_the_grace_period_is_recorded_as_missed(
    store: Store, trueconf: TrueConfClient, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting())
    clock.now = START - timedelta(seconds=2)
    assert await store.claim_launch(KEY, CID, START, "node-killed")

    clock.now = START + timedelta(minutes=16)  # the grace period is 15 minutes; the meeting lasts 30
    launcher = scheduler(store, trueconf, clock, owner="node-restarted")
    await launcher.run_once()
    await launcher.wait_idle()

    assert tcs.world.runs_of(CID) == []
    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.SKIPPED
    assert record.last_error is not None and record.last_error.startswith("missed:")


async def test_a_start_whose_answer_was_lost_is_retried_without_starting_twice(
    store: Store, tcs: SimServer, clock: Clock
) -> None:
    await put(store, meeting())
    async with TrueConfClient(tcs.url, ClientCredentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET), api_version="v4",
                              timeout=5.0, transport=LosesTheRunAnswer()) as client:
        launcher = scheduler(store, client, clock)
        clock.now = START
        await launcher.run_once()
        await launcher.wait_idle()
        record = await store.get_launch(KEY)
        assert record is not None and record.state is LaunchState.FAILED and record.run_sent_at == START
        tcs.world.stop_conference(CID)

        clock.now = START + timedelta(minutes=1)  # the back-off has passed
        await launcher.run_once()
        await launcher.wait_idle()

    assert len(tcs.world.runs_of(CID)) == 1
    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.SKIPPED
    assert record.last_error is not None and "may have been started" in record.last_error
