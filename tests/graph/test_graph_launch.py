"""A linked meeting in an Exchange Online mailbox (read through Graph) starts its TrueConf conference when it
begins, with its non-declined attendees, exactly once: also when the connector restarts on the same database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from graph_support import ALICE, BOB, CAROL, graph_entry, make_world, quick_sync, write_config

from ews_sim.world import World
from graph_sim.server import GraphSimulator
from graph_sim.testing import running as graph_running
from tc_calendar.config import load_settings
from tc_calendar.service import running_connector
from tc_calendar.status import collect, render
from tcs_sim.runner import SimServer
from tcs_sim.seed import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, seed_world
from tcs_sim.state import World as TrueConfWorld


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def graph(world: World) -> Iterator[GraphSimulator]:
    with graph_running(world) as sim:
        yield sim


@pytest.fixture
def tcs() -> Iterator[SimServer]:
    users = [
        {"id": "alice", "email": ALICE, "display_name": "Alice Archer"},
        {"id": "bob", "email": BOB, "display_name": "Bob Baker"},
        {"id": "carol", "email": CAROL, "display_name": "Carol Cook"},
    ]
    with SimServer(seed_world(TrueConfWorld(), users=users)) as server:
        yield server


async def test_a_graph_mailboxs_linked_meeting_starts_its_conference_exactly_once(
    tmp_path: Path, world: World, graph: GraphSimulator, tcs: SimServer
) -> None:
    tcs.world.create_conference({"id": "5566778899", "topic": "Cloud launch", "owner": "alice"})
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    meeting = world.create_meeting(
        ALICE, "Cloud launch", start, start + timedelta(minutes=30), required=[BOB, CAROL],
        body=f"<p>Join: <a href='{tcs.url}/c/5566778899'>the conference</a></p>", body_type="HTML",
    )  # fmt: skip
    world.respond(CAROL, meeting.uid, "Decline")

    def config(box: object) -> list[dict[str, object]]:
        return [graph_entry(graph, box, [ALICE, BOB, CAROL])]  # type: ignore[arg-type]

    def settings() -> object:
        return load_settings(write_config(tmp_path, config, launchConference=True, trueconf={
            "url": tcs.url, "clientId": DEFAULT_CLIENT_ID, "clientSecret": _encrypted(tmp_path, DEFAULT_CLIENT_SECRET),
        }))  # fmt: skip

    first = settings()
    async with running_connector(first, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:  # type: ignore[arg-type]
        await connector.sync.wait_synced(within=30)
        for _ in range(600):  # started late (and marked so) if the machine is too busy to be on time
            if tcs.world.runs_of("5566778899"):
                break
            await asyncio.sleep(0.1)
        [run] = tcs.world.runs_of("5566778899")
        assert set(run.invitations) == {"alice", "bob"}  # Carol declined
        assert run.at >= start.timestamp() - 0.5

    async with running_connector(settings(), host="127.0.0.1", port=0, sync_options=quick_sync()) as again:  # type: ignore[arg-type]
        await again.sync.wait_synced(within=30)
        assert again.launcher is not None
        await again.launcher.run_once()  # the restarted launcher looks at the occurrence (still in its grace)
        await again.launcher.wait_idle()
    assert len(tcs.world.runs_of("5566778899")) == 1

    mailboxes, launches, cursor = await collect(first)  # type: ignore[arg-type]
    assert "5566778899" in render(mailboxes, launches, cursor, datetime.now(UTC))


def _encrypted(tmp_path: Path, secret: str) -> str:
    from tc_calendar.crypto import SecretBox

    return SecretBox.load_or_create(tmp_path / "calendar.key").encrypt(secret)
