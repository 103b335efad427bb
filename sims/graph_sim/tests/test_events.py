"""events and calendarView: Graph v1.0's event JSON over the shared Exchange world, writes through Graph seen
by EWS, and the OData options Graph supports on these endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from graph_sim_support import ALICE, BOB, CAROL

from ews_sim.testing import running as running_ews
from ews_sim.world import DayOfWeek, NoEndRecurrence, Recurrence, ResponseType, WeeklyPattern
from graph_sim.ids import user_id
from graph_sim.server import GraphSimulator

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Berlin
WINDOW = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-03-31T00:00:00Z"}


def _rest(item_id: str) -> str:
    return item_id.replace("+", "-").replace("/", "_")


def test_a_meeting_reads_as_graph_event_json(graph: GraphSimulator, client: httpx.Client) -> None:
    item = graph.world.create_meeting(
        ALICE,
        "Budget",
        START,
        START + timedelta(hours=1),
        required=[BOB],
        optional=[CAROL],
        location="Room 4",
        body="Join at https://video.example/c/1",
    )
    graph.world.respond(BOB, item.uid, "Accept")
    event = client.get(f"/users/{ALICE}/events/{_rest(item.item_id)}").json()
    assert event["id"] == _rest(item.item_id)
    assert event["@odata.etag"] == f'W/"{event["changeKey"]}"'
    assert event["type"] == "singleInstance"
    assert event["isOrganizer"] is True
    assert event["responseStatus"]["response"] == "organizer"
    assert event["organizer"] == {"emailAddress": {"name": "Alice Adams", "address": ALICE}}
    assert [(a["type"], a["emailAddress"]["address"], a["status"]["response"]) for a in event["attendees"]] == [
        ("required", BOB, "accepted"),
        ("optional", CAROL, "none"),
    ]
    assert event["location"]["displayName"] == "Room 4"
    assert event["locations"][0]["displayName"] == "Room 4"
    assert event["body"]["contentType"] == "html" and "https://video.example/c/1" in event["body"]["content"]
    assert event["bodyPreview"] == "Join at https://video.example/c/1"
    assert event["originalStartTimeZone"] == "W. Europe Standard Time"
    assert event["start"] == {"dateTime": "2026-03-02T08:00:00.0000000", "timeZone": "UTC"}
    assert event["iCalUId"] == item.uid

    bobs = client.get(f"/users/{BOB}/calendarView", params=WINDOW).json()["value"]
    assert [(e["iCalUId"], e["isOrganizer"], e["responseStatus"]["response"]) for e in bobs] == [
        (item.uid, False, "accepted")
    ]


def test_calendar_view_expands_a_series_and_events_lists_its_master(
    graph: GraphSimulator, client: httpx.Client
) -> None:
    recurrence = Recurrence(WeeklyPattern((DayOfWeek.MONDAY,)), NoEndRecurrence(START.date()))
    master = graph.world.create_meeting(
        ALICE, "Weekly", START, START + timedelta(minutes=30), required=[BOB], recurrence=recurrence
    )
    graph.world.update_occurrence(
        ALICE,
        master.uid,
        2,
        subject="Weekly (moved)",
        start=START + timedelta(days=8),
        end=START + timedelta(days=8, minutes=30),
    )
    view = client.get(f"/users/{ALICE}/calendarView", params=WINDOW).json()["value"]
    assert [e["type"] for e in view] == ["occurrence", "exception", "occurrence", "occurrence", "occurrence"]
    assert view[1]["subject"] == "Weekly (moved)"
    assert view[1]["originalStart"] == "2026-03-09T08:00:00Z"
    events = client.get(f"/users/{ALICE}/events").json()["value"]
    assert [e["type"] for e in events] == ["seriesMaster"]
    assert events[0]["recurrence"]["pattern"]["type"] == "weekly"
    assert events[0]["recurrence"]["pattern"]["daysOfWeek"] == ["monday"]
    assert events[0]["recurrence"]["range"] == {
        "type": "noEnd",
        "startDate": "2026-03-02",
        "endDate": "0001-01-01",
        "recurrenceTimeZone": "W. Europe Standard Time",
        "numberOfOccurrences": 0,
    }
    instances = client.get(f"/users/{ALICE}/events/{events[0]['id']}/instances", params=WINDOW).json()["value"]
    assert [e["id"] for e in instances] == [e["id"] for e in view]


def test_select_top_orderby_and_filter(graph: GraphSimulator, client: httpx.Client) -> None:
    for day in range(5):
        graph.world.create_appointment(
            ALICE, f"Day {day}", START + timedelta(days=day), START + timedelta(days=day, hours=1)
        )
    r = client.get(
        f"/users/{ALICE}/calendarView",
        params={**WINDOW, "$select": "subject,start", "$top": "2", "$orderby": "start/dateTime desc"},
    )
    body = r.json()
    assert [e["subject"] for e in body["value"]] == ["Day 4", "Day 3"]
    assert set(body["value"][0]) == {"@odata.etag", "id", "subject", "start"}
    page2 = client.get(body["@odata.nextLink"]).json()
    assert [e["subject"] for e in page2["value"]] == ["Day 2", "Day 1"]
    filtered = client.get(
        f"/users/{ALICE}/events",
        params={"$filter": "start/dateTime ge '2026-03-03T00:00:00' and start/dateTime lt '2026-03-05T00:00:00'"},
    ).json()["value"]
    assert sorted(e["subject"] for e in filtered) == ["Day 1", "Day 2"]
    bad = client.get(f"/users/{ALICE}/events", params={"$select": "nonsense"})
    assert bad.status_code == 400


def test_events_created_through_graph_are_meetings_seen_through_ews(
    graph: GraphSimulator, client: httpx.Client
) -> None:
    r = client.post(
        f"/users/{ALICE}/events",
        json={
            "subject": "Planning",
            "body": {"contentType": "text", "content": "Agenda"},
            "start": {"dateTime": "2026-03-03T10:00:00", "timeZone": "W. Europe Standard Time"},
            "end": {"dateTime": "2026-03-03T11:00:00", "timeZone": "W. Europe Standard Time"},
            "location": {"displayName": "Room 2"},
            "attendees": [{"type": "required", "emailAddress": {"address": BOB, "name": "Bob Brown"}}],
        },
    )
    assert r.status_code == 201, r.text
    event = r.json()
    assert event["start"] == {"dateTime": "2026-03-03T09:00:00.0000000", "timeZone": "UTC"}
    copies = graph.world.items_by_uid(event["iCalUId"])
    assert [(c.mailbox, c.is_organizer, c.my_response_type) for c in copies] == [
        (ALICE, True, ResponseType.ORGANIZER),
        (BOB, False, ResponseType.NO_RESPONSE_RECEIVED),
    ]
    with running_ews(graph.world) as ews:  # the same world over EWS: the item is there under the same id
        assert ews.world.get_item(copies[0].item_id).subject == "Planning"


def test_patch_and_delete_follow_meeting_semantics(graph: GraphSimulator, client: httpx.Client) -> None:
    item = graph.world.create_meeting(ALICE, "Review", START, START + timedelta(hours=1), required=[BOB])
    before = client.get(f"/users/{BOB}/calendarView", params=WINDOW).json()["value"][0]
    r = client.patch(f"/users/{ALICE}/events/{_rest(item.item_id)}", json={"subject": "Review v2"})
    assert r.status_code == 200 and r.json()["subject"] == "Review v2"
    after = client.get(f"/users/{BOB}/calendarView", params=WINDOW).json()["value"][0]
    assert after["subject"] == "Review v2"
    assert after["changeKey"] != before["changeKey"]
    assert client.delete(f"/users/{ALICE}/events/{_rest(item.item_id)}").status_code == 204
    cancelled = client.get(f"/users/{BOB}/calendarView", params=WINDOW).json()["value"][0]
    assert cancelled["isCancelled"] is True
    assert cancelled["subject"] == "Canceled: Review v2"
    assert client.get(f"/users/{ALICE}/events/{_rest(item.item_id)}").status_code == 404


def test_unknown_users_and_ids_get_graph_errors(client: httpx.Client) -> None:
    r = client.get("/users/nobody@contoso.example/events")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "ErrorInvalidUser")
    r = client.get(f"/users/{ALICE}/events/AAMkAGarbled")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "ErrorInvalidIdMalformed")
    r = client.get("/me/events")
    assert r.status_code == 400


def test_users_are_addressable_by_object_id(graph: GraphSimulator, client: httpx.Client) -> None:
    graph.world.create_appointment(ALICE, "Mine", START, START + timedelta(hours=1))
    r = client.get(f"/users/{user_id(ALICE)}/calendarView", params=WINDOW)
    assert [e["subject"] for e in r.json()["value"]] == ["Mine"]


def test_all_day_events_are_floating_midnights(graph: GraphSimulator, client: httpx.Client) -> None:
    graph.world.create_appointment(ALICE, "Offsite", datetime(2026, 3, 10), datetime(2026, 3, 11), all_day=True)
    for zone in ("UTC", "Pacific Standard Time"):
        [event] = client.get(
            f"/users/{ALICE}/calendarView", params=WINDOW, headers={"Prefer": f'outlook.timezone="{zone}"'}
        ).json()["value"]
        assert event["isAllDay"] is True
        assert event["start"] == {"dateTime": "2026-03-10T00:00:00.0000000", "timeZone": zone}
        assert event["end"] == {"dateTime": "2026-03-11T00:00:00.0000000", "timeZone": zone}
        assert event["showAs"] == "free"


def test_post_takes_sensitivity_show_as_and_online_meetings(client: httpx.Client) -> None:
    r = client.post(
        f"/users/{ALICE}/events",
        json={
            "subject": "1:1",
            "start": {"dateTime": "2026-03-03T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-03T10:30:00", "timeZone": "UTC"},
            "sensitivity": "private",
            "showAs": "tentative",
            "isOnlineMeeting": True,
            "onlineMeetingProvider": "teamsForBusiness",
        },
    )
    event = r.json()
    assert (event["sensitivity"], event["showAs"], event["isOnlineMeeting"]) == ("private", "tentative", True)
    assert event["onlineMeeting"]["joinUrl"].startswith("https://teams.microsoft.com/l/meetup-join/")
    assert event["onlineMeetingProvider"] == "teamsForBusiness"
    assert client.post(f"/users/{ALICE}/events", json={"subject": "x", "colour": "red"}).status_code == 400


def test_a_meeting_a_delegate_sends_shows_the_owner_as_organizer(graph: GraphSimulator, client: httpx.Client) -> None:
    graph.world.grant_delegate(ALICE, CAROL)
    graph.world.create_meeting(ALICE, "For Alice", START, START + timedelta(hours=1), required=[BOB], as_delegate=CAROL)
    [event] = client.get(f"/users/{BOB}/calendarView", params=WINDOW).json()["value"]
    assert event["organizer"]["emailAddress"]["address"] == ALICE
    assert client.get(f"/users/{CAROL}/calendarView", params=WINDOW).json()["value"] == []


def test_bodies_come_as_text_when_asked(graph: GraphSimulator, client: httpx.Client) -> None:
    graph.world.create_appointment(
        ALICE, "Link", START, START + timedelta(hours=1), body="<p>Join <a href='https://v.example/c/9'>here</a></p>",
        body_type="HTML",
    )  # fmt: skip
    [html] = client.get(f"/users/{ALICE}/calendarView", params=WINDOW).json()["value"]
    assert html["body"] == {"contentType": "html", "content": "<p>Join <a href='https://v.example/c/9'>here</a></p>"}
    [text] = client.get(
        f"/users/{ALICE}/calendarView", params=WINDOW, headers={"Prefer": 'outlook.body-content-type="text"'}
    ).json()["value"]
    assert text["body"] == {"contentType": "text", "content": "Join here"}
