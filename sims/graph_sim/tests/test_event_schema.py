"""Every event the simulator returns, in every shape (single, meeting with all attendee kinds, series master,
occurrence, exception, all-day, cancelled copy, online meeting, @removed), validates against the v1.0 types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jsonschema
from graph_event_schema import EVENT, REMOVED
from graph_sim_support import ALICE, BOB, CAROL, ROOM

from ews_sim.world import AbsoluteMonthlyPattern, EndDateRecurrence, Recurrence
from graph_sim.ids import rest_id
from graph_sim.server import GraphSimulator

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WINDOW = {"startDateTime": "2026-02-01T00:00:00Z", "endDateTime": "2026-06-30T00:00:00Z"}


def test_every_shape_of_event_validates(graph: GraphSimulator, client: httpx.Client) -> None:
    world = graph.world
    recurrence = Recurrence(
        AbsoluteMonthlyPattern(2), EndDateRecurrence(START.date(), START.date() + timedelta(days=90))
    )
    series = world.create_meeting(
        ALICE, "Monthly", START, START + timedelta(hours=1), required=[BOB], optional=[CAROL], resources=[ROOM],
        recurrence=recurrence, location="Room 1", body="<b>Agenda</b>", body_type="HTML",
    )  # fmt: skip
    world.update_occurrence(ALICE, series.uid, 2, subject="Monthly (moved)", start=START + timedelta(days=29))
    world.respond(BOB, series.uid, "Tentative")
    world.create_appointment(ALICE, "Holiday", datetime(2026, 3, 20), datetime(2026, 3, 21), all_day=True)
    cancelled = world.create_meeting(
        ALICE, "Gone", START + timedelta(days=3), START + timedelta(days=3, hours=1), required=[BOB]
    )
    world.cancel_meeting(ALICE, cancelled.uid)
    online = {
        "subject": "Online",
        "isOnlineMeeting": True,
        "start": {"dateTime": "2026-03-04T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-04T11:00:00", "timeZone": "UTC"},
    }
    assert client.post(f"/users/{ALICE}/events", json=online).status_code == 201

    seen: set[str] = set()
    for smtp in (ALICE, BOB):
        for url in (f"/users/{smtp}/calendarView", f"/users/{smtp}/events"):
            for event in client.get(url, params=WINDOW if "View" in url else None).json()["value"]:
                jsonschema.validate(event, EVENT)
                seen.add(event["type"])
        delta = client.get(
            f"/users/{smtp}/calendarView/delta", params=WINDOW, headers={"Prefer": "odata.maxpagesize=100"}
        )
        for event in delta.json()["value"]:
            jsonschema.validate(event, EVENT)
    assert seen == {"singleInstance", "occurrence", "exception", "seriesMaster"}
    single = client.get(f"/users/{ALICE}/events/{rest_id(series.item_id)}").json()
    jsonschema.validate(single, EVENT)

    _, delta_link = (
        None,
        client.get(
            f"/users/{ALICE}/calendarView/delta", params=WINDOW, headers={"Prefer": "odata.maxpagesize=100"}
        ).json()["@odata.deltaLink"],
    )
    world.cancel_meeting(ALICE, series.uid)
    removed = client.get(delta_link).json()["value"]
    assert removed
    for entry in removed:
        jsonschema.validate(entry, REMOVED)
