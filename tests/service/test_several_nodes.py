"""Two connector nodes, each a ``tc_calendar run`` process with its own config, on one PostgreSQL schema.

Given four mailboxes in Exchange, the nodes share them through leases; a WebSocket client of either node receives
the changes of every mailbox. When one node is killed with SIGKILL, the other takes its mailboxes over once their
leases expire: every change made in Exchange while the node is dead and after reaches the survivor's client exactly
once, and every linked meeting's conference is started exactly once.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from node_processes import (
    SERVICE_LOGIN,
    SERVICE_PASSWORD,
    WITHIN,
    Node,
    eventually,
    holders,
    listen,
    write_config,
)

from ews_sim.server import EwsSimulator
from ews_sim.world import World
from ports import free_port
from tc_calendar.store import Store
from tcs_sim.runner import SimServer
from tcs_sim.seed import seed_world
from tcs_sim.state import World as TrueConfWorld

USERS = ["alice@corp.test", "bob@corp.test", "carol@corp.test", "dave@corp.test"]
LEASE_SECONDS = 6.0

pytestmark = pytest.mark.postgres


@pytest.fixture
def exchange() -> Iterator[EwsSimulator]:
    world = World()
    world.add_service_account(SERVICE_LOGIN, SERVICE_PASSWORD, impersonation=True)
    for user in USERS:
        world.add_mailbox(user, user.split("@")[0].title(), "Europe/Berlin")
    with EwsSimulator(world, host="127.0.0.1", port=0) as sim:
        yield sim


@pytest.fixture
def trueconf() -> Iterator[SimServer]:
    users = [{"id": user.split("@")[0], "email": user, "display_name": user.split("@")[0].title()} for user in USERS]
    with SimServer(seed_world(TrueConfWorld(), users=users)) as server:
        yield server


@pytest.fixture
async def nodes(
    tmp_path: Path, postgres_database_url: str, exchange: EwsSimulator, trueconf: SimServer
) -> AsyncIterator[tuple[Node, Node]]:
    key = tmp_path / "calendar.key"
    made = []
    for name in ("node-a", "node-b"):
        port = free_port()
        config = write_config(tmp_path / name, key, name, postgres_database_url, exchange, trueconf, port, USERS,
                              LEASE_SECONDS)
        made.append(Node(name, config, port, tmp_path / f"{name}.log"))
    a, b = made
    try:
        yield a, b
    finally:
        for node in made:
            node.stop()
        for node in made:  # shown when the test failed
            sys.stderr.write(f"---- {node.name}\n{node.log.read_text(errors='replace')[-20_000:]}\n")


@pytest.fixture
async def store(postgres_database_url: str) -> AsyncIterator[Store]:
    async with Store.open(postgres_database_url) as opened:
        yield opened


def meeting_at(start: datetime) -> tuple[datetime, datetime]:
    return start, start + timedelta(minutes=30)


async def test_two_nodes_share_the_mailboxes_and_one_takes_over_when_the_other_is_killed(
    nodes: tuple[Node, Node], store: Store, exchange: EwsSimulator, trueconf: SimServer
) -> None:
    a, b = nodes
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    world = exchange.world
    for user in USERS:
        world.create_meeting(user, f"Planning of {user}", *meeting_at(tomorrow))
    a.start()
    b.start()

    async def shared() -> dict[str, str | None] | None:
        held = await holders(store)
        states = {s.state.value for s in await store.list_mailboxes()}
        return held if set(held.values()) == {a.name, b.name} and states == {"ok"} else None

    held = await eventually(shared, what="both nodes synchronizing some of the mailboxes")
    on_a = sorted(email for email, owner in held.items() if owner == a.name)
    on_b = sorted(email for email, owner in held.items() if owner == b.name)
    listeners = [await listen(a), await listen(b)]
    try:
        # A change in any mailbox reaches the clients of both nodes.
        for user in USERS:
            world.create_meeting(user, f"Shared {user}", *meeting_at(tomorrow + timedelta(hours=1)))
        both = {(user, f"Shared {user}") for user in USERS}
        for listener in listeners:
            await eventually(lambda: asyncio.sleep(0, both <= set(listener.upserts())),  # noqa: B023
                             what="every mailbox's change at both nodes' clients")

        # Conferences starting soon; both nodes have them in view; they start after A is dead.
        conferences = {}
        soon = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=LEASE_SECONDS + 8)
        for index, user in enumerate([*on_a, *on_b]):
            cid = f"77000{index}"
            trueconf.world.create_conference({"id": cid, "topic": f"Review {index}", "owner": user.split("@")[0]})
            title = f"Review {index}"
            world.create_meeting(user, title, *meeting_at(soon), location=f"{trueconf.url}/c/{cid}")
            conferences[cid] = (user, title)
        for listener in listeners:
            await eventually(lambda: asyncio.sleep(0, set(conferences.values()) <= set(listener.upserts())),  # noqa: B023
                             what="the linked meetings at both nodes' clients")

        killed_at = time.monotonic()
        a.kill()
        survivor = listeners[1]
        expected = set(both) | set(conferences.values())
        for user in on_a + on_b:  # while A is dead
            world.create_meeting(user, f"During {user}", *meeting_at(tomorrow + timedelta(hours=2)))
            expected.add((user, f"During {user}"))

        async def taken_over() -> bool:
            return set((await holders(store)).values()) == {b.name}

        await eventually(taken_over, what="node B holding every mailbox")
        takeover = time.monotonic() - killed_at
        for user in on_a + on_b:  # after the takeover
            world.create_meeting(user, f"After {user}", *meeting_at(tomorrow + timedelta(hours=3)))
            expected.add((user, f"After {user}"))

        await eventually(lambda: asyncio.sleep(0, expected <= set(survivor.upserts())),
                         what="every change at the surviving node's client")
        await eventually(lambda: asyncio.sleep(0, all(trueconf.world.runs_of(cid) for cid in conferences)),
                         what="every conference started")
        # Anything that would arrive twice has had time to: B's launches are recorded, its loops idle.
        await eventually(lambda: launches_finished(store, len(conferences)), what="every start recorded")

        received = survivor.upserts()
        assert {change: received[change] for change in expected} == dict.fromkeys(expected, 1)
        assert {cid: len(trueconf.world.runs_of(cid)) for cid in conferences} == dict.fromkeys(conferences, 1)
        assert takeover < WITHIN
        sys.stderr.write(f"takeover after kill -9: {takeover:.1f} s (lease {LEASE_SECONDS:.0f} s)\n")
    finally:
        for listener in listeners:
            await listener.close()


async def launches_finished(store: Store, count: int) -> bool:
    records = await store.list_launches()
    return len(records) == count and all(record.state.value == "started" for record in records)
