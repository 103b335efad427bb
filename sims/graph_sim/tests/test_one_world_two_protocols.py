"""One Exchange world behind two protocols: what an Outlook user does through EWS (exchangelib) is seen through
Graph, and what an app does through Graph is seen through EWS, with the same items and meeting semantics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from exchangelib import (
    BASIC,
    IMPERSONATION,
    Account,
    Build,
    CalendarItem,
    Configuration,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
    FailFast,
    Version,
)
from graph_sim_support import ALICE, BOB

from ews_sim.server import EwsSimulator
from ews_sim.testing import running as running_ews
from graph_sim.ids import rest_id
from graph_sim.server import GraphSimulator

WINDOW = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-03-31T00:00:00Z"}


@pytest.fixture
def ews(graph: GraphSimulator) -> Iterator[EwsSimulator]:
    with running_ews(graph.world) as sim:
        yield sim


def _account(ews: EwsSimulator, smtp: str) -> Account:
    config = Configuration(
        service_endpoint=ews.url,
        credentials=Credentials("svc-trueconf", "secret"),
        auth_type=BASIC,
        version=Version(build=Build(15, 1, 2507, 39)),
        retry_policy=FailFast(),
    )
    return Account(primary_smtp_address=smtp, config=config, autodiscover=False, access_type=IMPERSONATION)


def test_a_meeting_sent_through_ews_is_read_and_answered_through_graph(
    graph: GraphSimulator, ews: EwsSimulator, client: httpx.Client
) -> None:
    alice = _account(ews, ALICE)
    tz = EWSTimeZone("Europe/Berlin")
    item = CalendarItem(
        account=alice,
        folder=alice.calendar,
        subject="Quarterly",
        start=EWSDateTime(2026, 3, 4, 10, 0, tzinfo=tz),
        end=EWSDateTime(2026, 3, 4, 11, 0, tzinfo=tz),
        required_attendees=[BOB],
    )
    item.save(send_meeting_invitations="SendToAllAndSaveCopy")
    bobs = client.get(f"/users/{BOB}/calendarView", params=WINDOW).json()["value"]
    assert [(e["subject"], e["organizer"]["emailAddress"]["address"]) for e in bobs] == [("Quarterly", ALICE)]
    assert bobs[0]["start"] == {"dateTime": "2026-03-04T09:00:00.0000000", "timeZone": "UTC"}
    assert client.post(f"/users/{BOB}/events/{bobs[0]['id']}/accept", json={}).status_code == 202

    item.refresh()
    assert [(a.mailbox.email_address, a.response_type) for a in item.required_attendees] == [(BOB, "Accept")]
    graph_view = client.get(f"/users/{ALICE}/events/{rest_id(item.id)}").json()
    assert graph_view["changeKey"] == item.changekey


def test_an_event_changed_through_graph_is_seen_through_ews(
    graph: GraphSimulator, ews: EwsSimulator, client: httpx.Client
) -> None:
    start = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
    made = graph.world.create_meeting(ALICE, "Design", start, start + timedelta(hours=1), required=[BOB])
    r = client.patch(
        f"/users/{ALICE}/events/{rest_id(made.item_id)}",
        json={"subject": "Design review", "location": {"displayName": "Room 7"}},
    )
    assert r.status_code == 200
    bob = _account(ews, BOB)
    [copy] = list(bob.calendar.view(start=start - timedelta(days=1), end=start + timedelta(days=1)))
    assert (copy.subject, copy.location) == ("Design review", "Room 7")
    assert client.delete(f"/users/{ALICE}/events/{rest_id(made.item_id)}").status_code == 204
    [cancelled] = list(bob.calendar.view(start=start - timedelta(days=1), end=start + timedelta(days=1)))
    assert cancelled.is_cancelled and cancelled.subject == "Canceled: Design review"
