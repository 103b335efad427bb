"""A TrueConf Server REST API simulator for tests and demos, built from the public API shapes.

    from tcs_sim import SimServer, World, seed_world
    with SimServer(seed_world(World())) as sim:
        ...  # sim.url, sim.world
"""

from tcs_sim.runner import SimServer
from tcs_sim.seed import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SECRET_KEY, seed_world
from tcs_sim.state import Faults, RunRecord, SimClock, World

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_SECRET_KEY",
    "Faults",
    "RunRecord",
    "SimClock",
    "SimServer",
    "World",
    "seed_world",
]
