"""A private meeting (Exchange Sensitivity Private): in full for its owner and attendees in their own calendars,
"Private appointment" and the time only for anyone else.

Given Alice's private meeting with Bob in Exchange (simulator), TrueConf Server (serving each user their own
calendar) and Bob signed in to the web page see it in full; the web page's administrator looking at Bob's
calendar sees only that Bob is busy, also in live changes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from test_service_end_to_end import ALICE, BOB, WEB_LOGIN, WEB_PASSWORD, exchange, quick_sync, write_config

from ews_sim.server import EwsSimulator
from tc_calendar.api.client import ApiClient, ServerAuth, Subscription, WebAuth
from tc_calendar.config import load_settings
from tc_calendar.crypto import SecretBox
from tc_calendar.service import running_connector

__all__ = ["exchange"]  # the fixture

SERVER_ID, SECRET = "tcs.corp.test#vcs", "shared secret of the connector"
BOB_PASSWORD = "Bob's web password"
TITLE, WHERE, WHAT = "Salary review", "https://video.corp.test/c/salary_review", "Bob's raise"


def window(around: datetime) -> dict[str, str]:
    return {"start": (around - timedelta(days=1)).isoformat(), "end": (around + timedelta(days=2)).isoformat()}


async def only_event(client: ApiClient, user: str, around: datetime) -> dict[str, Any]:
    [event] = (await client.call("calendar.list", {"user": user, **window(around)}))["occurrences"]
    return dict(event)


def assert_in_full(event: dict[str, Any]) -> None:
    assert event["private"] is True
    assert (event["title"], event["location"], event["description"]) == (TITLE, WHERE, WHAT)
    assert {a["email"] for a in event["attendees"]} == {ALICE, BOB}
    assert event["conference"] is not None


def assert_time_only(event: dict[str, Any], start: datetime) -> None:
    assert event["private"] is True
    assert event["title"] == event["displayTitle"] == "Private appointment"
    assert event["start"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (event["location"], event["description"], event["organizer"], event["attendees"]) == ("", "", None, [])
    assert event["conference"] is None


async def next_upsert(subscription: Subscription, user: str) -> dict[str, Any]:
    async for note in subscription:
        for change in note["changes"]:
            if change["kind"] == "upsert" and change["user"] == user and change["occurrence"]:
                return dict(change["occurrence"])
    raise AssertionError("the subscription ended")


async def test_a_private_meeting_is_shown_in_full_only_in_its_peoples_own_calendars(
    tmp_path: Path, exchange: EwsSimulator
) -> None:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    meeting = exchange.world.create_meeting(
        ALICE, TITLE, start, start + timedelta(minutes=30), required=[BOB], location=WHERE, body=WHAT,
        sensitivity="Private",
    )
    box = SecretBox.load_or_create(tmp_path / "calendar.key")
    web_users = {WEB_LOGIN: box.encrypt(WEB_PASSWORD), BOB: box.encrypt(BOB_PASSWORD)}
    config = write_config(
        tmp_path, exchange, api={"secret": box.encrypt(SECRET)}, web={"users": web_users},
        productWhitelist={"tcs": [SERVER_ID]},
    )
    settings = load_settings(config)
    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
        await connector.sync.wait_synced(within=30)
        server = await ApiClient.connect(connector.url, ServerAuth(SERVER_ID, SECRET))
        bob = await ApiClient.connect(connector.url, WebAuth(BOB, BOB_PASSWORD))
        admin = await ApiClient.connect(connector.url, WebAuth(WEB_LOGIN, WEB_PASSWORD))
        try:
            assert_in_full(await only_event(server, BOB, start))  # TrueConf Server shows Bob his own calendar
            assert_in_full(await only_event(server, ALICE, start))
            assert_in_full(await only_event(bob, BOB, start))
            assert_time_only(await only_event(bob, ALICE, start), start)  # Bob looking at Alice's calendar
            assert_time_only(await only_event(admin, BOB, start), start)
            key = (await only_event(admin, BOB, start))["key"]
            got = await admin.call("calendar.get", {"uid": key["uid"]})
            assert_time_only(got["occurrence"], start)
            got = await server.call("calendar.get", {"uid": key["uid"], "user": BOB})
            assert_in_full(got["occurrence"])

            watching_admin = await admin.subscribe([BOB])
            watching_server = await server.subscribe([BOB])
            exchange.world.update_meeting(ALICE, meeting.uid, body=WHAT + " (agreed)")
            masked = await asyncio.wait_for(next_upsert(watching_admin, BOB), 30)
            assert masked["title"] == "Private appointment" and masked["description"] == ""
            full = await asyncio.wait_for(next_upsert(watching_server, BOB), 30)
            assert full["description"] == WHAT + " (agreed)"
        finally:
            for client in (server, bob, admin):
                await client.close()
