"""accept, tentativelyAccept, decline and cancel with Exchange's meeting semantics: the organizer's event records
responses, a declined meeting leaves the attendee's calendar, a cancelled one stays there as "Canceled: "."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from graph_sim_support import ALICE, BOB, CAROL

from ews_sim.world import DailyPattern, NumberedRecurrence, Recurrence
from graph_sim.ids import rest_id
from graph_sim.server import GraphSimulator

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WINDOW = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-03-31T00:00:00Z"}


def _attendee_copy(client: httpx.Client, smtp: str) -> dict:  # type: ignore[type-arg]
    events = client.get(f"/users/{smtp}/calendarView", params=WINDOW).json()["value"]
    assert len(events) == 1, events
    return events[0]  # type: ignore[no-any-return]


def _responses(client: httpx.Client, event_id: str) -> dict[str, str]:
    event = client.get(f"/users/{ALICE}/events/{event_id}").json()
    return {a["emailAddress"]["address"]: a["status"]["response"] for a in event["attendees"]}


def test_responses_reach_the_organizers_event(graph: GraphSimulator, client: httpx.Client) -> None:
    item = graph.world.create_meeting(ALICE, "Sync", START, START + timedelta(hours=1), required=[BOB, CAROL])
    organizer_id = rest_id(item.item_id)
    before = client.get(f"/users/{ALICE}/events/{organizer_id}").json()["changeKey"]
    bobs = _attendee_copy(client, BOB)
    assert bobs["responseStatus"]["response"] == "notResponded"
    assert (
        client.post(
            f"/users/{BOB}/events/{bobs['id']}/accept", json={"comment": "ok", "sendResponse": True}
        ).status_code
        == 202
    )
    carols = _attendee_copy(client, CAROL)
    assert client.post(f"/users/{CAROL}/events/{carols['id']}/tentativelyAccept", json={}).status_code == 202
    assert _responses(client, organizer_id) == {BOB: "accepted", CAROL: "tentativelyAccepted"}
    assert client.get(f"/users/{ALICE}/events/{organizer_id}").json()["changeKey"] != before
    assert _attendee_copy(client, BOB)["responseStatus"]["response"] == "accepted"
    assert _attendee_copy(client, CAROL)["showAs"] == "tentative"

    assert client.post(f"/users/{BOB}/events/{bobs['id']}/decline", json={"sendResponse": True}).status_code == 202
    assert _responses(client, organizer_id)[BOB] == "declined"
    assert client.get(f"/users/{BOB}/calendarView", params=WINDOW).json()["value"] == []  # moved to Deleted Items


def test_the_organizer_cannot_respond_and_an_attendee_cannot_cancel(
    graph: GraphSimulator, client: httpx.Client
) -> None:
    item = graph.world.create_meeting(ALICE, "Sync", START, START + timedelta(hours=1), required=[BOB])
    r = client.post(f"/users/{ALICE}/events/{rest_id(item.item_id)}/accept", json={})
    assert r.status_code == 400
    bobs = _attendee_copy(client, BOB)
    r = client.post(f"/users/{BOB}/events/{bobs['id']}/cancel", json={"comment": "no"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "ErrorAccessDenied"


def test_cancel_leaves_canceled_copies_with_attendees(graph: GraphSimulator, client: httpx.Client) -> None:
    item = graph.world.create_meeting(ALICE, "Retro", START, START + timedelta(hours=1), required=[BOB])
    r = client.post(f"/users/{ALICE}/events/{rest_id(item.item_id)}/cancel", json={"comment": "Sorry"})
    assert r.status_code == 202
    bobs = _attendee_copy(client, BOB)
    assert (bobs["isCancelled"], bobs["subject"], bobs["iCalUId"]) == (True, "Canceled: Retro", item.uid)
    assert client.get(f"/users/{ALICE}/calendarView", params=WINDOW).json()["value"] == []
    r = client.post(f"/users/{BOB}/events/{bobs['id']}/accept", json={})
    assert r.status_code == 400


def test_one_occurrence_is_answered_and_cancelled_alone(graph: GraphSimulator, client: httpx.Client) -> None:
    recurrence = Recurrence(DailyPattern(), NumberedRecurrence(START.date(), 3))
    graph.world.create_meeting(
        ALICE, "Daily", START, START + timedelta(minutes=15), required=[BOB], recurrence=recurrence
    )
    bobs = client.get(f"/users/{BOB}/calendarView", params=WINDOW).json()["value"]
    assert client.post(f"/users/{BOB}/events/{bobs[1]['id']}/decline", json={}).status_code == 202
    assert [e["originalStart"] for e in client.get(f"/users/{BOB}/calendarView", params=WINDOW).json()["value"]] == [
        bobs[0]["originalStart"],
        bobs[2]["originalStart"],
    ]
    alices = client.get(f"/users/{ALICE}/calendarView", params=WINDOW).json()["value"]
    declined = {a["emailAddress"]["address"]: a["status"]["response"] for a in alices[1]["attendees"]}
    assert declined == {BOB: "declined"}
    assert alices[1]["type"] == "exception"
    assert client.post(f"/users/{ALICE}/events/{alices[2]['id']}/cancel", json={}).status_code == 202
    assert len(client.get(f"/users/{ALICE}/calendarView", params=WINDOW).json()["value"]) == 2
    assert len(client.get(f"/users/{BOB}/calendarView", params=WINDOW).json()["value"]) == 1


def test_an_occurrence_patched_through_graph_becomes_an_exception_for_everyone(
    graph: GraphSimulator, client: httpx.Client
) -> None:
    recurrence = Recurrence(DailyPattern(), NumberedRecurrence(START.date(), 3))
    graph.world.create_meeting(
        ALICE, "Daily", START, START + timedelta(minutes=15), required=[BOB], recurrence=recurrence
    )
    alices = client.get(f"/users/{ALICE}/calendarView", params=WINDOW).json()["value"]
    r = client.patch(f"/users/{ALICE}/events/{alices[0]['id']}", json={"subject": "Daily (special)"})
    assert r.status_code == 200
    assert (r.json()["type"], r.json()["subject"]) == ("exception", "Daily (special)")
    bobs = client.get(f"/users/{BOB}/calendarView", params=WINDOW).json()["value"]
    assert [(e["type"], e["subject"]) for e in bobs] == [
        ("exception", "Daily (special)"),
        ("occurrence", "Daily"),
        ("occurrence", "Daily"),
    ]
