"""Every provider over its simulator, serving the contract scenario's world.

``side`` is parametrized over the providers: each test of the suite runs once per protocol. A side gives the
world (built with ``ews_sim.world``, whichever protocol serves it) and makes providers that read it over a socket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import ExitStack

import pytest
from contract_sides import PROVIDERS, Side, ews_side, graph_side
from contract_world import make_world


@pytest.fixture(params=PROVIDERS)
async def side(request: pytest.FixtureRequest) -> AsyncIterator[Side]:
    world = make_world()
    with ExitStack() as stack:
        factory = ews_side(world, stack) if request.param == "ews" else graph_side(world, stack)
        made = Side(request.param, world, factory)
        try:
            yield made
        finally:
            for provider in made.made:
                await provider.aclose()

