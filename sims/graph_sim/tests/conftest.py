"""Fixtures: one Graph simulator for the session (reset before each test to a small Exchange world) and an
HTTPS webhook receiver it trusts, both on real loopback sockets.

``graph``        the simulator, reset: alice (Europe/Berlin), bob (America/New_York), carol, room1 (a room that
                 accepts by itself); ``sim.graph_url``, ``sim.authority``, ``sim.ca_file``, ``sim.world``...
``graph_world``  its ews_sim World.
``client``       an httpx.Client on ``graph_url`` with a token of the default app.
``token``        ``token(client_id=None, credential=None)``: an access token from msal.
``receiver``     the webhook receiver (``receiver.url("notify")``, ``receiver.wait_for(path, predicate)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from graph_sim_receiver import Receiver
from graph_sim_support import get_token, graph_client, make_world

from ews_sim.world import World
from graph_sim.server import GraphSimulator
from graph_sim.testing import running


@pytest.fixture(autouse=True)
def _msal_honours_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's ``verify``, so msal's ``verify=``
    would be ignored on machines that set them."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture(scope="session")
def _receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def _graph_server(_receiver: Receiver) -> Iterator[GraphSimulator]:
    # the sim trusts the receiver's self-signed certificate; failed deliveries are retried quickly
    with running(notification_ca_file=_receiver.ca_file, retry_delays=(0.1, 0.2)) as sim:
        yield sim


@pytest.fixture
def receiver(_receiver: Receiver) -> Receiver:
    """An HTTPS webhook endpoint the simulator trusts (``receiver.url("notify")``)."""
    _receiver.reset()
    return _receiver


@pytest.fixture
def graph(_graph_server: GraphSimulator) -> GraphSimulator:
    """The session's simulator, reset to the standard world (one server for all tests keeps the run quick)."""
    _graph_server.reset()
    _graph_server.world.clock.set(datetime.now(UTC))  # type: ignore[attr-defined]  # undo clock moves
    make_world(_graph_server.world)
    return _graph_server


@pytest.fixture
def graph_world(graph: GraphSimulator) -> World:
    return graph.world


@pytest.fixture
def token(graph: GraphSimulator) -> Callable[..., str]:
    return lambda client_id=None, credential=None: get_token(graph, client_id, credential)


@pytest.fixture
def client(graph: GraphSimulator) -> Iterator[httpx.Client]:
    with graph_client(graph, get_token(graph)) as c:
        yield c
