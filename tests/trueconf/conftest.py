"""A seeded TrueConf Server simulator on a free loopback port, and clients for it with a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from trueconf_support import ClientFactory, ManualClock

from tc_calendar.trueconf.client import TrueConfClient
from tcs_sim.runner import SimServer
from tcs_sim.seed import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, seed_world
from tcs_sim.state import World


@pytest.fixture(scope="session")
def _sim_server() -> Iterator[SimServer]:
    with SimServer(World()) as server:
        yield server


@pytest.fixture
def sim(_sim_server: SimServer) -> SimServer:
    """The session's simulator, reset to the seed world for this test."""
    _sim_server.world.reset()
    seed_world(_sim_server.world)
    return _sim_server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def make_client(sim: SimServer, clock: ManualClock) -> AsyncIterator[ClientFactory]:
    """``make_client(api_version="v4", **overrides)``: OAuth2 clients of the simulator, closed after the test."""
    made: list[TrueConfClient] = []

    def factory(api_version: str = "v4", **overrides: object) -> TrueConfClient:
        settings: dict[str, object] = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET,
                                       "api_version": api_version, "clock": clock, "timeout": 5.0}
        settings.update(overrides)
        client = TrueConfClient.connect(sim.url, **settings)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield factory
    for client in made:
        await client.aclose()
