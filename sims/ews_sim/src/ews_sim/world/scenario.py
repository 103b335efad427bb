"""Scenario files: a JSON description of an organisation and its calendars, relative to "today".

See the "Scenario files" section of sims/ews_sim/README.md for the format.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from ews_sim.world.core import World

#: The demo organisation shipped with the package.
DEMO_SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "demo.json"


class ScenarioError(ValueError):
    """The scenario is not valid; the message names the offending entry."""


def load_scenario(source: str | Path | dict[str, Any], world: World, now: datetime | None = None) -> dict[str, str]:
    """Populate ``world`` from a scenario file path or an already parsed dict.

    Relative times (``"+2d 09:00"``) are resolved against ``now`` (default: the world's clock) in the zone of
    the mailbox concerned. Returns the map of scenario meeting ``id`` -> UID so tests can refer to them.
    """
    raise NotImplementedError
