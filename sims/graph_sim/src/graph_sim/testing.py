"""Starting the Graph simulator from any test suite in one line.

    from graph_sim.testing import running

    with running(scenario=path_or_dict) as sim:       # or running(world) with an ews_sim World
        sim.authority, sim.client_id, sim.client_secret, sim.ca_file, sim.graph_url, sim.world, sim.tenant

The same World can be served over EWS at the same time with ``ews_sim.testing.running(sim.world)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ews_sim.world import World
from graph_sim.scenario import load_graph_scenario
from graph_sim.server import GraphSimulator


@contextmanager
def running(
    world: World | None = None, *, scenario: str | Path | dict[str, Any] | None = None, **options: Any
) -> Iterator[GraphSimulator]:
    """Serve ``world`` (a new one when None), loaded with ``scenario`` if given, on 127.0.0.1, port 0, over HTTPS.

    ``options`` go to :class:`GraphSimulator` (``token_lifetime``, ``tenant_id``, ``allow_http_notifications``,
    ``notification_ca_file``...).
    """
    sim = GraphSimulator(world, **options)
    if scenario is not None:
        load_graph_scenario(scenario, sim.world, sim.tenant)
    with sim:
        yield sim
