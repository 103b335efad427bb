"""The whole connector with Exchange Online mailboxes read through Microsoft Graph (msal and the connector's httpx
client against the Graph simulator over HTTPS), beside an on-premises mailbox read through EWS: one Exchange
world behind both protocols, as in a hybrid organization.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from graph_support import (
    ALICE,
    BOB,
    CAROL,
    ONPREM,
    WEB_LOGIN,
    WEB_PASSWORD,
    ews_entry,
    graph_entry,
    make_world,
    quick_sync,
    write_config,
)

from ews_sim.server import EwsSimulator
from ews_sim.world import World
from graph_sim.server import GraphSimulator
from graph_sim.testing import running as graph_running
from tc_calendar.api.client import ApiClient, Subscription, WebAuth
from tc_calendar.config import load_settings
from tc_calendar.service import running_connector
from tc_calendar.status import collect, render
from waiting import eventually


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def ews(world: World) -> Iterator[EwsSimulator]:
    with EwsSimulator(world, host="127.0.0.1", port=0) as sim:
        yield sim


@pytest.fixture
def graph(world: World) -> Iterator[GraphSimulator]:
    with graph_running(world) as sim:
        yield sim


def soon(days: int = 2, hour: int = 8) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


async def upserts(subscription: Subscription, users: set[str], title: str | None = None) -> dict[str, dict[str, Any]]:
    """The first upsert pushed for each of ``users`` (of an occurrence titled ``title``, if given)."""
    found: dict[str, dict[str, Any]] = {}

    async def collect() -> None:
        async for note in subscription:
            for change in note["changes"]:
                wanted = title is None or change["occurrence"]["title"] == title
                if change["kind"] == "upsert" and change["user"] in users and wanted:
                    found.setdefault(change["user"], dict(change))
            if set(found) == users:
                return
        raise AssertionError("the subscription ended")

    await asyncio.wait_for(collect(), 30)
    return found


async def test_a_hybrid_organization_sees_one_meeting_through_both_protocols_and_its_changes_live(
    tmp_path: Path, world: World, ews: EwsSimulator, graph: GraphSimulator
) -> None:
    start = soon()
    meeting = world.create_meeting(
        ALICE, "Quarterly planning", start, start + timedelta(minutes=30), required=[ONPREM, BOB],
        location="https://video.corp.test/c/planning",
    )  # fmt: skip
    settings = load_settings(
        write_config(tmp_path, lambda box: [ews_entry(ews, box, [ONPREM]), graph_entry(graph, box, [ALICE, BOB])])
    )

    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
        await connector.sync.wait_synced([ONPREM, ALICE, BOB], within=30)
        client = await ApiClient.connect(connector.url, WebAuth(WEB_LOGIN, WEB_PASSWORD))
        try:
            window = {"start": (start - timedelta(days=1)).isoformat(), "end": (start + timedelta(days=7)).isoformat()}
            for user in (ONPREM, ALICE, BOB):
                [event] = (await client.call("calendar.list", {"user": user, **window}))["occurrences"]
                assert event["title"] == "Quarterly planning", user
                assert event["conference"]["id"] == "planning"
                assert event["organizer"]["email"] == ALICE

            subscription = await client.subscribe([BOB, ONPREM])
            moved = start + timedelta(hours=3)
            world.update_meeting(ALICE, meeting.uid, start=moved, end=moved + timedelta(minutes=30))
            pushed = await upserts(subscription, {BOB, ONPREM})  # Graph by polling, EWS by streaming
            for user, change in pushed.items():
                assert change["occurrence"]["start"].startswith(moved.strftime("%Y-%m-%dT%H:%M")), user

            world.respond(BOB, meeting.uid, "Decline")
            change = (await upserts(subscription, {ONPREM}))[ONPREM]
            responses = {a["email"]: a["response"] for a in change["occurrence"]["attendees"]}
            assert responses[BOB] == "Declined"
        finally:
            await client.close()


async def test_a_mailbox_outside_the_apps_access_policy_is_shown_in_error_and_the_others_sync(
    tmp_path: Path, world: World, graph: GraphSimulator
) -> None:
    graph.tenant.set_access_policy(graph.client_id, "RestrictAccess", [ALICE, BOB])
    start = soon()
    world.create_meeting(ALICE, "Budget review", start, start + timedelta(hours=1), required=[BOB, CAROL])
    settings = load_settings(write_config(tmp_path, lambda box: [graph_entry(graph, box, [ALICE, BOB, CAROL])]))

    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
        await connector.sync.wait_synced([ALICE, BOB], within=30)

        async def carol_in_error() -> bool:
            status = await connector.store.get_mailbox(CAROL)
            return status is not None and status.state.value == "error"

        await eventually(carol_in_error, what="carol's mailbox in error")
        await connector.sync.status()  # publishes the states to /metrics now (housekeeping does it periodically)
        metrics = await _metrics(connector.http_url)
        assert re.search(r'tc_calendar_mailboxes\{state="error"\} 1\.0', metrics), metrics

    mailboxes, launches, cursor = await collect(settings)
    report = render(mailboxes, launches, cursor, datetime.now(UTC))
    assert re.search(rf"^{re.escape(CAROL)} +error ", report, re.MULTILINE), report
    assert "Application Access Policy" in report
    assert re.search(rf"^{re.escape(BOB)} +ok +users +1 ", report, re.MULTILINE), report


async def _metrics(http_url: str) -> str:
    import httpx

    async with httpx.AsyncClient(base_url=http_url) as http:
        return (await http.get("/metrics")).text


async def test_a_wrong_client_secret_puts_the_graph_mailboxes_in_error_and_the_ews_ones_sync(
    tmp_path: Path, world: World, ews: EwsSimulator, graph: GraphSimulator
) -> None:
    start = soon()
    world.create_meeting(ALICE, "Standup", start, start + timedelta(minutes=15), required=[ONPREM, BOB])

    def providers(box: Any) -> list[dict[str, Any]]:
        return [ews_entry(ews, box, [ONPREM]), graph_entry(graph, box, [ALICE, BOB], clientSecret=box.encrypt("nope"))]

    settings = load_settings(write_config(tmp_path, providers))
    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
        await connector.sync.wait_synced([ONPREM], within=30)

        async def graph_in_error() -> bool:
            states = [await connector.store.get_mailbox(m) for m in (ALICE, BOB)]
            return all(s is not None and s.state.value == "error" for s in states)

        await eventually(graph_in_error, what="the Graph mailboxes in error")

    mailboxes, launches, cursor = await collect(settings)
    report = render(mailboxes, launches, cursor, datetime.now(UTC))
    assert re.search(rf"^{re.escape(ONPREM)} +ok ", report, re.MULTILINE), report
    assert re.search(rf"^{re.escape(BOB)} +error ", report, re.MULTILINE), report
    assert "clientSecret" in report, report  # the message names the setting to fix
