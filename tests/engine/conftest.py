"""The Exchange simulator on a loopback socket, for the engine and EWS adapter tests.

``ews_sim`` is a running :class:`~ews_sim.server.EwsSimulator` over plain HTTP on 127.0.0.1 (port 0) with a
world holding an impersonation service account (``svc-sync``), a second one (``svc-sync2``), one without the
impersonation right (``svc-none``) and the mailboxes of :data:`USERS`. Tests build their calendars through
``ews_sim.world`` (the simulator's control API), never by writing rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from engine_world import make_world

from ews_sim.server import EwsSimulator


@pytest.fixture
def ews_sim() -> Iterator[EwsSimulator]:
    with EwsSimulator(make_world(), host="127.0.0.1", port=0) as sim:
        yield sim
