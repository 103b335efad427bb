"""The Exchange world the engine and EWS adapter tests share: service accounts and five mailboxes.

A module of its own (test directories are not packages), so tests import it by name instead of from conftest.
"""

from __future__ import annotations

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
