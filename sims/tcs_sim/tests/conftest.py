"""A seeded simulator on a free loopback port for every test that asks for one."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

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
def http(sim: SimServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, timeout=5) as client:
        yield client


@pytest.fixture
def token(http: httpx.Client) -> str:
    reply = http.post("/oauth2/v1/token", json={"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID,
                                                "client_secret": DEFAULT_CLIENT_SECRET})
    reply.raise_for_status()
    return str(reply.json()["access_token"])
