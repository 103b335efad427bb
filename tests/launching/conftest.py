"""The store, the TrueConf Server simulator and a client for it, all on one hand-moved clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from launching_support import START, Clock

from tc_calendar.store import Store
from tc_calendar.trueconf.client import TrueConfClient
from tcs_sim.runner import SimServer
from tcs_sim.seed import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, seed_world
from tcs_sim.state import World


@pytest.fixture
def clock() -> Clock:
    return Clock(START - timedelta(minutes=5))


@pytest.fixture
async def store(database_url: str, clock: Clock) -> AsyncIterator[Store]:
    """The store keeps time by the same clock as the launcher, as it does in production (the wall clock)."""
    opened = Store.open(database_url, clock=clock)
    yield opened
    await opened.close()


@pytest.fixture
def tcs() -> Iterator[SimServer]:
    with SimServer(seed_world(World())) as server:
        yield server


@pytest.fixture
async def trueconf(tcs: SimServer) -> AsyncIterator[TrueConfClient]:
    client = TrueConfClient.connect(tcs.url, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET,
                                    api_version="v4", timeout=5.0)
    yield client
    await client.aclose()
