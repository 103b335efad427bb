"""What the API says about an event, from Exchange (simulator) through the whole connector to a WebSocket client.

Given meetings in Exchange, a client sees the organizer and the room among the participants, no Join for a
cancelled meeting, and only the people still in the meeting hear that its conference started.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from test_service_end_to_end import ALICE, BOB, WEB_LOGIN, WEB_PASSWORD, exchange, quick_sync, write_config

from ews_sim.server import EwsSimulator
from tc_calendar.api.client import ApiClient, WebAuth
from tc_calendar.config import load_settings
from tc_calendar.crypto import SecretBox
from tc_calendar.model import ChangeKind
from tc_calendar.service import running_connector
from tc_calendar.store import Store
from tcs_sim.runner import SimServer
from tcs_sim.seed import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, seed_world
from tcs_sim.state import World as TrueConfWorld

__all__ = ["exchange"]  # the fixture

CAROL = "carol@corp.test"
ROOM = "room.berlin@corp.test"


def days_ahead(days: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=8, minute=0, second=0, microsecond=0)


async def list_calendar(client: ApiClient, user: str, around: datetime) -> list[dict[str, Any]]:
    window = {
        "user": user,
        "start": (around - timedelta(days=1)).isoformat(),
        "end": (around + timedelta(days=2)).isoformat(),
    }
    return list((await client.call("calendar.list", window))["occurrences"])


async def test_the_organizer_and_the_room_are_listed_among_the_participants(
    tmp_path: Path, exchange: EwsSimulator
) -> None:
    exchange.world.add_mailbox(ROOM, "Room Berlin", "Europe/Berlin")
    start = days_ahead(2)
    exchange.world.create_meeting(
        ALICE, "Planning", start, start + timedelta(minutes=30), required=[BOB], resources=[ROOM]
    )
    settings = load_settings(write_config(tmp_path, exchange))
    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
        await connector.sync.wait_synced(within=30)
        async with await ApiClient.connect(connector.url, WebAuth(WEB_LOGIN, WEB_PASSWORD)) as client:
            [event] = await list_calendar(client, BOB, start)
    people = {(a["email"], a["role"], a["response"]) for a in event["attendees"]}
    assert (ALICE, "Organizer", "Organizer") in people
    assert event["attendees"][0]["email"] == ALICE  # organizer first, as in the protocol's example
    assert (BOB, "Required", "NoResponse") in people
    assert ROOM in {email for email, role, _ in people if role == "Resource"}


async def test_a_cancelled_linked_meeting_has_no_join(tmp_path: Path, exchange: EwsSimulator) -> None:
    start = days_ahead(3)
    meeting = exchange.world.create_meeting(
        ALICE, "Review", start, start + timedelta(minutes=30), required=[BOB],
        location="https://video.corp.test/c/review_weekly",
    )
    exchange.world.cancel_meeting(ALICE, meeting.uid)
    settings = load_settings(write_config(tmp_path, exchange))
    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
        await connector.sync.wait_synced(within=30)
        async with await ApiClient.connect(connector.url, WebAuth(WEB_LOGIN, WEB_PASSWORD)) as client:
            [event] = await list_calendar(client, BOB, start)
    assert event["cancelled"] is True
    assert event["displayTitle"] == "Canceled: Review"
    assert event["conference"] is None


async def test_conference_started_reaches_only_the_people_still_in_the_meeting(
    tmp_path: Path, exchange: EwsSimulator
) -> None:
    exchange.world.add_mailbox(CAROL, "Carol Clark", "Europe/Berlin")
    with SimServer(
        seed_world(
            TrueConfWorld(),
            users=[
                {"id": "alice", "email": ALICE, "display_name": "Alice Archer"},
                {"id": "bob", "email": BOB, "display_name": "Bob Baker"},
                {"id": "carol", "email": CAROL, "display_name": "Carol Clark"},
            ],
        )
    ) as tcs:
        tcs.world.create_conference({"id": "4455667788", "topic": "Launch review", "owner": "alice"})
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
        meeting = exchange.world.create_meeting(
            ALICE, "Launch review", start, start + timedelta(minutes=30), required=[BOB, CAROL],
            body=f"Join: {tcs.url}/c/4455667788",
        )
        exchange.world.respond(CAROL, meeting.uid, "Decline")  # Exchange removes it from Carol's calendar
        box = SecretBox.load_or_create(tmp_path / "calendar.key")
        trueconf = {"url": tcs.url, "clientId": DEFAULT_CLIENT_ID, "clientSecret": box.encrypt(DEFAULT_CLIENT_SECRET)}
        config = write_config(tmp_path, exchange, launchConference=True, trueconf=trueconf)
        settings = load_settings(config)
        async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
            await connector.sync.wait_synced(within=30)
            async with await ApiClient.connect(connector.url, WebAuth(WEB_LOGIN, WEB_PASSWORD)) as client:
                assert await list_calendar(client, CAROL, start) == []
                subscription = await client.subscribe("*", cursor=0)

                async def started_for(wanted: set[str]) -> None:
                    users: set[str] = set()
                    async for note in subscription:
                        users |= {c["user"] for c in note["changes"] if c["kind"] == "conference_started"}
                        if wanted <= users:
                            return
                    raise AssertionError("the subscription ended")

                await asyncio.wait_for(started_for({ALICE, BOB}), 60)
    # The launcher has finished its work when the connector stops: the change log holds all it recorded.
    async with Store.open(settings.database_url) as store:
        changes = await store.changes_after(0)
    assert {c.user for c in changes if c.kind is ChangeKind.CONFERENCE_STARTED} == {ALICE, BOB}
