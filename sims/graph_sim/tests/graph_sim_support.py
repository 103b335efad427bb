"""The tests' small Exchange world and their clients of the simulator (imported by conftest and the tests)."""

from __future__ import annotations

import ssl

import httpx
import msal

from ews_sim.world import World
from graph_sim.server import GraphSimulator

ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"
CAROL = "carol@contoso.example"
ROOM = "room1@contoso.example"


def make_world(world: World | None = None) -> World:
    world = world if world is not None else World()
    world.add_mailbox(ALICE, "Alice Adams", "Europe/Berlin")
    world.add_mailbox(BOB, "Bob Brown", "America/New_York")
    world.add_mailbox(CAROL, "Carol Clark", "Europe/Berlin")
    world.add_mailbox(ROOM, "Room 1", "Europe/Berlin", auto_accept=True)
    world.add_service_account("svc-trueconf", "secret", impersonation=True)
    return world


def msal_app(
    sim: GraphSimulator, client_id: str | None = None, credential: object = None
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client_id or sim.client_id,
        client_credential=credential if credential is not None else sim.client_secret,
        authority=sim.authority,
        verify=sim.ca_file,
        instance_discovery=False,
    )


def get_token(sim: GraphSimulator, client_id: str | None = None, credential: object = None) -> str:
    result = msal_app(sim, client_id, credential).acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result
    return str(result["access_token"])


def graph_client(sim: GraphSimulator, access_token: str) -> httpx.Client:
    return httpx.Client(
        base_url=sim.graph_url,
        verify=ssl.create_default_context(cafile=sim.ca_file),
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=30,
    )
