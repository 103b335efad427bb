"""What a client reads: calendar.list returns exactly the fields the client view needs; unknown users are queued."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from api_harness import ALICE, BOB, MONDAY_9, Harness, meeting, put

from tc_calendar.api.client import ApiClient, RpcError
from tc_calendar.model import Attendee, Response, Role

SCHEMAS = Path(__file__).parents[2] / "src" / "tc_calendar" / "api" / "schemas"


def validate(name: str, doc: object) -> None:
    jsonschema.validate(doc, json.loads((SCHEMAS / name).read_text()))


RANGE = {"start": "2026-06-29T00:00:00Z", "end": "2026-06-30T00:00:00Z"}


async def synced(api: Harness, *emails: str) -> None:
    for email in emails:
        await api.store.register_on_demand_mailbox(email)
        await api.store.record_sync_success(email)


async def test_calendar_list_returns_every_field_of_the_client_view(api: Harness) -> None:
    await synced(api, ALICE, BOB)
    await api.apply(
        put(ALICE, meeting("uid-1", conference="5576502892")),
        put(BOB, meeting("uid-1", conference="5576502892"), Response.ACCEPTED),
    )
    async with await ApiClient.connect(api.url, api.auth) as client:
        result = await client.call("calendar.list", {"user": BOB, **RANGE})
    validate("calendar.list.result.json", result)
    assert result["user"] == BOB and result["status"] == "synced"
    assert result["occurrences"] == [
        {
            "key": {"uid": "uid-1", "recurrenceId": None},
            "title": "Marketing department meeting",
            "displayTitle": "Marketing department meeting",
            "start": "2026-06-29T09:00:00Z",
            "end": "2026-06-29T09:30:00Z",
            "allDay": False,
            "location": "Room 1",
            "description": "Discussion of the work done last week.",
            "organizer": {"email": ALICE, "name": "Alice"},
            "attendees": [
                {"email": ALICE, "name": "Alice", "role": "Organizer", "response": "Organizer"},
                {"email": BOB, "name": "Bob", "role": "Required", "response": "NoResponse"},
            ],
            "myResponse": "Accepted",
            "cancelled": False,
            "recurrence": None,
            "conference": {"id": "5576502892", "url": "https://video.example.com/c/5576502892"},
            "private": False,
        }
    ]


async def test_a_cancelled_recurring_occurrence_shows_canceled_title_and_its_series(api: Harness) -> None:
    await synced(api, ALICE)
    occurrence = meeting("series", cancelled=True, recurrence_id=MONDAY_9)
    await api.apply(put(ALICE, occurrence))
    async with await ApiClient.connect(api.url, api.auth) as client:
        [doc] = (await client.call("calendar.list", {"user": ALICE, **RANGE}))["occurrences"]
        got = await client.call(
            "calendar.get", {"uid": "series", "recurrenceId": "2026-06-29T12:00:00+03:00", "user": ALICE}
        )
    assert doc["displayTitle"] == "Canceled: Marketing department meeting" and doc["cancelled"] is True
    assert doc["key"]["recurrenceId"] == "2026-06-29T09:00:00Z"
    assert doc["recurrence"] == {"summary": "Weekly on Monday", "isException": False}
    assert doc["myResponse"] == "Organizer" and doc["conference"] is None
    validate("calendar.get.result.json", got)
    assert got["occurrence"] == doc


async def test_asking_for_a_user_not_yet_synced_queues_the_mailbox(api: Harness) -> None:
    async with await ApiClient.connect(api.url, api.auth) as client:
        result = await client.call("calendar.list", {"user": "New.User@Example.com", **RANGE})
        users = await client.call("users.list")
    assert result == {"user": "new.user@example.com", "status": "queued", "occurrences": []}
    [mailbox] = users["users"]
    assert mailbox["email"] == "new.user@example.com" and mailbox["origin"] == "on_demand"
    assert mailbox["state"] == "pending"
    validate("users.list.result.json", users)


async def test_users_list_names_people_and_rooms_as_meetings_list_them(api: Harness) -> None:
    room = "room.berlin@example.com"
    await synced(api, ALICE, BOB, room, "quiet@example.com")
    booked = meeting("booked")
    booked = replace(booked, attendees=(*booked.attendees, Attendee(room, "Room Berlin", Role.RESOURCE)))
    await api.apply(put(ALICE, booked))
    async with await ApiClient.connect(api.url, api.auth) as client:
        users = await client.call("users.list")
    validate("users.list.result.json", users)
    found = {user["email"]: (user["name"], user["kind"]) for user in users["users"]}
    assert found == {
        ALICE: ("Alice", "person"),
        BOB: ("Bob", "person"),
        room: ("Room Berlin", "room"),
        "quiet@example.com": (None, "person"),  # in no meeting: no name known
    }


async def test_a_user_over_the_account_limit_gets_32011(api: Harness) -> None:
    from tc_calendar.store.records import MailboxState

    await api.store.register_on_demand_mailbox("late@example.com")
    await api.store.set_mailbox_state("late@example.com", MailboxState.OVER_LIMIT)
    async with await ApiClient.connect(api.url, api.auth) as client:
        with pytest.raises(RpcError) as raised:
            await client.call("calendar.list", {"user": "late@example.com", **RANGE})
    assert raised.value.code == -32011 and raised.value.data == {"user": "late@example.com"}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"user": BOB, "start": "2026-06-29T00:00:00", "end": "2026-06-30T00:00:00Z"}, "no UTC offset"),
        ({"user": BOB, "start": "2026-06-30T00:00:00Z", "end": "2026-06-29T00:00:00Z"}, "end must be after start"),
        ({"user": BOB, "start": "2026-01-01T00:00:00Z", "end": "2028-01-01T00:00:00Z"}, "at most 400 days"),
        ({"user": "not-an-address", **RANGE}, "not an e-mail address"),
        ({"user": 42, **RANGE}, "user"),
        ({"user": BOB, **RANGE, "extra": 1}, "extra"),
    ],
)
async def test_bad_calendar_list_params_get_32602_with_what_is_wrong(
    api: Harness, params: dict[str, object], fragment: str
) -> None:
    async with await ApiClient.connect(api.url, api.auth) as client:
        with pytest.raises(RpcError) as raised:
            await client.call("calendar.list", params)
        assert raised.value.code == -32602 and fragment in raised.value.message
        assert (await client.call("server.info"))["protocol"] == 1  # the connection goes on


async def test_calendar_get_of_a_missing_occurrence_is_32013(api: Harness) -> None:
    async with await ApiClient.connect(api.url, api.auth) as client:
        with pytest.raises(RpcError) as raised:
            await client.call("calendar.get", {"uid": "nope"})
    assert raised.value.code == -32013


async def test_server_info_counts_mailboxes_and_gives_the_latest_cursor(api: Harness) -> None:
    await synced(api, ALICE)
    cursor = await api.apply(put(ALICE, meeting("a", start=MONDAY_9 + timedelta(days=1))))
    async with await ApiClient.connect(api.url, api.auth) as client:
        info = await client.call("server.info")
    validate("server.info.result.json", info)
    assert info["cursor"] == cursor and info["mailboxes"]["total"] == 1


async def test_server_info_gives_the_sync_window_so_clients_can_say_what_is_not_synchronized(api: Harness) -> None:
    """The harness's clock is Monday 9:00; the guide's default cache keeps 2 months back and series 3 ahead."""
    async with await ApiClient.connect(api.url, api.auth) as client:
        info = await client.call("server.info")
    validate("server.info.result.json", info)
    assert MONDAY_9.date().isoformat() == "2026-06-29"
    # series from 29 April to the end of 29 September; single meetings two years from the start
    assert info["window"] == {
        "start": "2026-04-29T00:00:00Z",
        "end": "2026-09-30T00:00:00Z",
        "singlesEnd": "2028-04-29T00:00:00Z",
    }


def test_the_calendar_list_example_in_the_protocol_document_follows_the_schemas() -> None:
    text = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text()
    block = text.split("### `calendar.list", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    request_line, response = block.split("\n", 1)
    request, answer = json.loads(request_line), json.loads(response)
    validate("calendar.list.params.json", request["params"])
    validate("calendar.list.result.json", answer["result"])
