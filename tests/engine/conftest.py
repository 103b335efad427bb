"""The Exchange simulator on a loopback socket, for the engine and EWS adapter tests.

``ews_sim`` is a running :class:`~ews_sim.server.EwsSimulator` over plain HTTP on 127.0.0.1 (port 0) with a
world holding an impersonation service account (``svc-sync``), a second one (``svc-sync2``), one without the
impersonation right (``svc-none``) and the mailboxes of :data:`USERS`. Tests build their calendars through
``ews_sim.world`` (the simulator's control API), never by writing rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ews_sim.server import EwsSimulator
from ews_sim.world import World

SERVICE_LOGIN = "svc-sync"
SERVICE_PASSWORD = "Sync!pass1"
SECOND_LOGIN = "svc-sync2"
SECOND_PASSWORD = "Sync!pass2"
NO_RIGHTS_LOGIN = "svc-none"
NO_RIGHTS_PASSWORD = "None!pass1"
ALICE = "alice@corp.test"
BOB = "bob@corp.test"
CAROL = "carol@corp.test"
DAVE = "dave@corp.test"
OUTSIDER = "olga@corp.test"
USERS = {
    ALICE: ("Alice Archer", "Europe/Berlin"),
    BOB: ("Bob Baker", "Europe/Berlin"),
    CAROL: ("Carol Cook", "America/New_York"),
    DAVE: ("Dave Dunn", "UTC"),
    OUTSIDER: ("Olga Outside", "UTC"),
}


def make_world() -> World:
    world = World()
    world.add_service_account(SERVICE_LOGIN, SERVICE_PASSWORD, impersonation=True)
    world.add_service_account(SECOND_LOGIN, SECOND_PASSWORD, impersonation=True)
    world.add_service_account(NO_RIGHTS_LOGIN, NO_RIGHTS_PASSWORD, impersonation=False)
    for smtp, (name, zone) in USERS.items():
        world.add_mailbox(smtp, name, zone)
    return world


@pytest.fixture
def ews_sim() -> Iterator[EwsSimulator]:
    with EwsSimulator(make_world(), host="127.0.0.1", port=0) as sim:
        yield sim
