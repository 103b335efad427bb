"""The whole connector, as ``tc_calendar run`` starts it: Exchange (simulator) in, web client and /health out.

Given a meeting in the organizer's Exchange calendar, a signed-in web user sees it in the attendee's calendar
with its conference link; a reschedule in Exchange reaches a subscribed client within seconds; /health says
ready and /metrics is Prometheus text.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ews_sim.server import EwsSimulator
from ews_sim.world import World
from tc_calendar.api.client import ApiClient, WebAuth
from tc_calendar.config import load_settings
from tc_calendar.crypto import SecretBox
from tc_calendar.engine.runner import SyncOptions
from tc_calendar.service import running_connector
from tc_calendar.status import collect, render
from tcs_sim.runner import SimServer
from tcs_sim.seed import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, seed_world
from tcs_sim.state import World as TrueConfWorld

SERVICE_LOGIN, SERVICE_PASSWORD = "svc-trueconf", "Service!pass1"
ALICE, BOB = "alice@corp.test", "bob@corp.test"
WEB_LOGIN, WEB_PASSWORD = "admin", "web admin password"


@pytest.fixture
def exchange() -> Iterator[EwsSimulator]:
    world = World()
    world.add_service_account(SERVICE_LOGIN, SERVICE_PASSWORD, impersonation=True)
    world.add_mailbox(ALICE, "Alice Archer", "Europe/Berlin")
    world.add_mailbox(BOB, "Bob Baker", "Europe/Berlin")
    with EwsSimulator(world, host="127.0.0.1", port=0) as sim:
        yield sim


def write_config(tmp_path: Path, exchange: EwsSimulator, **extra: Any) -> Path:
    box = SecretBox.load_or_create(tmp_path / "calendar.key")
    port = int(exchange.url.rsplit(":", 1)[1].split("/", 1)[0])
    config: dict[str, Any] = {
        "wsPort": 4315,
        "launchConference": False,
        "cache": {"autoSync": True, "backward": 1, "forward": 2},
        "productWhitelist": {"tcs": ["tcs.corp.test#vcs"]},
        "calendarProviders": [
            {
                "host": "127.0.0.1",
                "port": port,
                "scheme": "http",
                "exchangeVersion": "Exchange2016",
                "auth": "basic",
                "path": "/EWS/Exchange.asmx",
                "type": "ews",
                "credentials": [{"login": SERVICE_LOGIN, "password": box.encrypt(SERVICE_PASSWORD)}],
                "users": [ALICE, BOB],
            }
        ],
        "web": {"users": {WEB_LOGIN: box.encrypt(WEB_PASSWORD)}},
    }
    config.update(extra)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def quick_sync() -> SyncOptions:
    return SyncOptions(
        auto_sync=True, backward_months=1, forward_months=2, poll_interval=5.0, fallback_poll_interval=1.0
    )


async def test_a_meeting_in_exchange_reaches_the_web_client_and_moves_live(
    tmp_path: Path, exchange: EwsSimulator
) -> None:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)
    meeting = exchange.world.create_meeting(
        ALICE,
        "Marketing department meeting",
        start,
        start + timedelta(minutes=30),
        required=[BOB],
        location="https://video.corp.test/c/marketing_weekly",
        body="Discussion of the work done last week.",
    )
    settings = load_settings(write_config(tmp_path, exchange))

    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
        await connector.sync.wait_synced(within=30)
        async with httpx.AsyncClient(base_url=connector.http_url) as http:
            health = await http.get("/health")
            assert health.status_code == 200, health.text
            assert health.json()["sync"] == "running"
            metrics = await http.get("/metrics")
            names = {family.name for family in text_string_to_metric_families(metrics.text)}
            assert "tc_calendar_mailboxes" in names

        client = await ApiClient.connect(connector.url, WebAuth(WEB_LOGIN, WEB_PASSWORD))
        try:
            window = {
                "user": BOB,
                "start": (start - timedelta(days=1)).isoformat(),
                "end": (start + timedelta(days=30)).isoformat(),
            }
            listed = await client.call("calendar.list", window)
            [event] = listed["occurrences"]
            assert event["title"] == "Marketing department meeting"
            assert event["conference"]["id"] == "marketing_weekly"
            assert event["organizer"]["email"] == ALICE

            async with httpx.AsyncClient(base_url=connector.http_url) as http:
                metrics_text = (await http.get("/metrics")).text
            [clients] = [
                f for f in text_string_to_metric_families(metrics_text) if f.name == "tc_calendar_websocket_clients"
            ]
            assert clients.samples[0].value == 1

            subscription = await client.subscribe([BOB])
            moved = start + timedelta(hours=3)
            exchange.world.update_meeting(ALICE, meeting.uid, start=moved, end=moved + timedelta(minutes=30))

            async def first_upsert() -> dict[str, Any]:
                async for note in subscription:
                    for change in note["changes"]:
                        if change["kind"] == "upsert" and change["user"] == BOB:
                            return dict(change)
                raise AssertionError("the subscription ended")

            change = await asyncio.wait_for(first_upsert(), 30)
            assert change["occurrence"]["start"].startswith(moved.strftime("%Y-%m-%dT%H:%M"))
        finally:
            await client.close()

    # After the service stopped, `tc_calendar status` reads the same database.
    mailboxes, launches, cursor = await collect(settings)
    report = render(mailboxes, launches, cursor, datetime.now(UTC))
    assert "Mailboxes: 2 (2 ok)" in report
    for user in (ALICE, BOB):
        assert re.search(rf"^{re.escape(user)} +ok +users +1 ", report, re.MULTILINE), report


async def test_a_linked_meeting_starts_its_conference_on_trueconf_server_when_it_begins(
    tmp_path: Path, exchange: EwsSimulator
) -> None:
    with SimServer(
        seed_world(
            TrueConfWorld(),
            users=[
                {"id": "alice", "email": ALICE, "display_name": "Alice Archer"},
                {"id": "bob", "email": BOB, "display_name": "Bob Baker"},
            ],
        )
    ) as tcs:
        tcs.world.create_conference({"id": "4455667788", "topic": "Launch review", "owner": "alice"})
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
        exchange.world.create_meeting(
            ALICE,
            "Launch review",
            start,
            start + timedelta(minutes=30),
            required=[BOB],
            body=f"Join: {tcs.url}/c/4455667788",
        )
        box = SecretBox.load_or_create(tmp_path / "calendar.key")
        settings = load_settings(
            write_config(
                tmp_path,
                exchange,
                launchConference=True,
                trueconf={
                    "url": tcs.url,
                    "clientId": DEFAULT_CLIENT_ID,
                    "clientSecret": box.encrypt(DEFAULT_CLIENT_SECRET),
                },
            )
        )
        async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
            await connector.sync.wait_synced(within=30)
            for _ in range(600):  # started late (and marked so) if the machine is too busy to be on time
                if tcs.world.runs_of("4455667788"):
                    break
                await asyncio.sleep(0.1)
            [run] = tcs.world.runs_of("4455667788")
            assert set(run.invitations) == {"alice", "bob"}
            assert run.at >= start.timestamp() - 0.5

        mailboxes, launches, cursor = await collect(settings)
        assert "4455667788" in render(mailboxes, launches, cursor, datetime.now(UTC))


async def test_every_commit_wakes_the_change_feed_once(tmp_path: Path, exchange: EwsSimulator) -> None:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)
    meeting = exchange.world.create_meeting(ALICE, "Planning", start, start + timedelta(minutes=30), required=[BOB])
    settings = load_settings(write_config(tmp_path, exchange))

    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
        await connector.sync.wait_synced(within=30)
        store = connector.store
        commits = 0
        apply = store.apply

        async def counted(actions: Any) -> Any:  # the sync engine's commits, counted as they are made
            nonlocal commits
            changes = await apply(actions)
            commits += bool(changes)
            return changes

        store.apply = counted  # type: ignore[method-assign]
        woken_before = connector.change_signal.notified
        client = await ApiClient.connect(connector.url, WebAuth(WEB_LOGIN, WEB_PASSWORD))
        try:
            subscription = await client.subscribe([BOB])
            moved = start + timedelta(hours=1)
            exchange.world.update_meeting(ALICE, meeting.uid, start=moved, end=moved + timedelta(minutes=30))

            async def upserted() -> None:
                async for note in subscription:
                    if any(c["kind"] == "upsert" and c["user"] == BOB for c in note["changes"]):
                        return
                raise AssertionError("the subscription ended")

            await asyncio.wait_for(upserted(), 30)
        finally:
            await client.close()

        assert commits >= 1
        assert connector.change_signal.notified - woken_before == commits
