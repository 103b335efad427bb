"""Starting the simulator from other projects' tests in one line.

    from ews_sim.testing import running

    with running(scenario=DEMO_SCENARIO) as sim:      # or running(world) with a World built by hand
        sim.url, sim.world, sim.control_url

The server listens on 127.0.0.1, port 0, and stops (streams included) when the block ends. ``FAST_STREAMING``
makes a GetStreamingEvents ``ConnectionTimeout`` minute last a second, with keep-alives every 0.3 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ews_sim.server import EwsSimulator
from ews_sim.services.context import ServerSettings
from ews_sim.world import World, load_scenario

FAST_STREAMING = ServerSettings(streaming_keepalive_seconds=0.3, connection_timeout_unit_seconds=1.0)


@contextmanager
def running(
    world: World | None = None,
    *,
    scenario: str | Path | dict[str, Any] | None = None,
    https: bool = False,
    settings: ServerSettings | None = FAST_STREAMING,
    **options: Any,
) -> Iterator[EwsSimulator]:
    """Serve ``world`` (a new one when None), optionally loaded with ``scenario``, for the ``with`` block.

    ``options`` go to :class:`EwsSimulator` (``control_token``, ``cert_file``/``key_file``, ``host``...).
    """
    world = world if world is not None else World()
    if scenario is not None:
        load_scenario(scenario, world)
    with EwsSimulator(world, https=https, settings=settings, **options) as sim:
        yield sim
