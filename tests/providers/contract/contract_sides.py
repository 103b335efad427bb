"""The providers the contract holds, each over its simulator serving one world (see conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

import pytest
from contract_world import SERVICE_LOGIN, SERVICE_PASSWORD

from ews_sim.server import EwsSimulator
from ews_sim.world import World
from tc_calendar.providers._ews_session import EndpointSettings
from tc_calendar.providers.base import CalendarProvider
from tc_calendar.providers.ews import EwsProvider

PROVIDERS = ["ews", "graph"]


@dataclass
class Side:
    """One protocol's view of the world: ``make()`` builds a provider reading it (closed by the fixture)."""

    name: str
    world: World
    factory: Callable[[], CalendarProvider]
    made: list[CalendarProvider] = field(default_factory=list)

    def make(self) -> CalendarProvider:
        provider = self.factory()
        self.made.append(provider)
        return provider


def ews_side(world: World, stack: ExitStack) -> Callable[[], CalendarProvider]:
    sim = stack.enter_context(EwsSimulator(world, host="127.0.0.1", port=0))
    endpoint = EndpointSettings(sim.url, auth="basic", timeout_seconds=10, server_version="Exchange2016")
    return lambda: EwsProvider(endpoint, [(SERVICE_LOGIN, SERVICE_PASSWORD)], stream_retry_seconds=0.05)


def graph_side(world: World, stack: ExitStack) -> Callable[[], CalendarProvider]:
    """The Graph simulator over the same world; msal for the token, the provider's httpx client for the rest."""
    testing = pytest.importorskip("graph_sim.testing")
    from tc_calendar.providers._graph_http import GraphHttp
    from tc_calendar.providers.graph import GraphProvider
    from tc_calendar.providers.graph_auth import GraphCredential, GraphEndpoints, GraphTokenSource

    sim = stack.enter_context(testing.running(world))

    def make() -> CalendarProvider:
        credential = GraphCredential(sim.tenant_id, sim.client_id, secret=sim.client_secret)
        endpoints = GraphEndpoints(sim.base_url, sim.base_url, "https://graph.microsoft.com")
        tokens = GraphTokenSource(credential, endpoints, verify=sim.ca_file)
        return GraphProvider(GraphHttp(sim.graph_url, tokens, verify=sim.ca_file), page_size=3, poll_interval=0.3)

    return make
