"""calendarView/delta: a full round in pages, then only the changes (made through Graph's world, by any
protocol), removals as @removed, and 410 for expired or garbled tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from graph_sim_support import ALICE, BOB

from ews_sim.world import DailyPattern, NumberedRecurrence, Recurrence
from graph_sim.server import GraphSimulator

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
WINDOW = {"startDateTime": (NOW - timedelta(days=1)).isoformat(), "endDateTime": (NOW + timedelta(days=14)).isoformat()}


def _round(
    client: httpx.Client, url: str, params: dict[str, str] | None = None, **headers: str
) -> tuple[list[dict[str, Any]], str, int]:
    """Follow nextLinks to the deltaLink: (every value, the deltaLink, pages)."""
    values: list[dict[str, Any]] = []
    pages = 0
    while True:
        r = client.get(url, params=params, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        values += body["value"]
        pages += 1
        params = None
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return values, body["@odata.deltaLink"], pages
        url = body["@odata.nextLink"]
        assert "$skiptoken=" in url


def test_a_full_round_pages_through_singles_and_occurrences_but_no_masters(
    graph: GraphSimulator, client: httpx.Client
) -> None:
    world = graph.world
    for hour in range(5):
        world.create_appointment(
            ALICE, f"Single {hour}", NOW + timedelta(hours=hour + 1), NOW + timedelta(hours=hour + 2)
        )
    series = world.create_meeting(
        ALICE,
        "Daily",
        NOW + timedelta(days=1),
        NOW + timedelta(days=1, minutes=30),
        required=[BOB],
        recurrence=Recurrence(DailyPattern(), NumberedRecurrence((NOW + timedelta(days=1)).date(), 5)),
    )
    values, delta_link, pages = _round(
        client, f"/users/{ALICE}/calendarView/delta", WINDOW, Prefer="odata.maxpagesize=3"
    )
    assert pages == 4  # 10 instances, 3 a page
    assert "$deltatoken=" in delta_link
    types = sorted(v["type"] for v in values)
    assert types == ["occurrence"] * 5 + ["singleInstance"] * 5
    occurrences = [v for v in values if v["type"] == "occurrence"]
    assert {v["seriesMasterId"] for v in occurrences} == {series.item_id.replace("+", "-").replace("/", "_")}
    assert len({v["iCalUId"] for v in occurrences}) == 5  # one per instance, as Graph documents
    assert all(v["originalStart"].endswith("Z") for v in occurrences)


def test_the_delta_link_gives_only_what_changed(graph: GraphSimulator, client: httpx.Client) -> None:
    world = graph.world
    keep = world.create_appointment(ALICE, "Keep", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    change = world.create_appointment(ALICE, "Change", NOW + timedelta(hours=3), NOW + timedelta(hours=4))
    delete = world.create_appointment(ALICE, "Delete", NOW + timedelta(hours=5), NOW + timedelta(hours=6))
    _, delta_link, _ = _round(client, f"/users/{ALICE}/calendarView/delta", WINDOW)

    values, second_link, _ = _round(client, delta_link)
    assert values == []

    world.update_item(change.item_id, subject="Changed")
    world.delete_item(delete.item_id)
    added = world.create_appointment(ALICE, "Added", NOW + timedelta(hours=7), NOW + timedelta(hours=8))
    values, _, _ = _round(client, second_link)
    by_id = {v["id"]: v for v in values}
    rest = lambda item: item.item_id.replace("+", "-").replace("/", "_")  # noqa: E731
    assert set(by_id) == {rest(change), rest(delete), rest(added)}
    assert by_id[rest(change)]["subject"] == "Changed"
    assert by_id[rest(delete)]["@removed"] == {"reason": "deleted"}
    assert by_id[rest(added)]["subject"] == "Added"
    assert rest(keep) not in by_id


def test_an_event_moved_out_of_the_window_is_removed(graph: GraphSimulator, client: httpx.Client) -> None:
    item = graph.world.create_appointment(ALICE, "Moves", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    _, delta_link, _ = _round(client, f"/users/{ALICE}/calendarView/delta", WINDOW)
    graph.world.update_item(item.item_id, start=NOW + timedelta(days=30), end=NOW + timedelta(days=30, hours=1))
    values, _, _ = _round(client, delta_link)
    assert [v.get("@removed") for v in values] == [{"reason": "deleted"}]


def test_expired_delta_tokens_are_410_sync_state_not_found(graph: GraphSimulator, client: httpx.Client) -> None:
    graph.world.create_appointment(ALICE, "One", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    _, delta_link, _ = _round(client, f"/users/{ALICE}/calendarView/delta", WINDOW)
    r = client.post(graph.control_url + "/expire_delta_tokens", json={"mailbox": ALICE})
    assert r.status_code == 200 and r.json()["expired"] >= 1
    r = client.get(delta_link)
    assert r.status_code == 410
    assert r.json()["error"]["code"] == "syncStateNotFound"


def test_garbled_delta_tokens_are_410_resync_required(graph: GraphSimulator, client: httpx.Client) -> None:
    _, delta_link, _ = _round(client, f"/users/{ALICE}/calendarView/delta", WINDOW)
    r = client.get(delta_link[:-4] + "AAAA")
    assert r.status_code == 410
    assert r.json()["error"]["code"] == "resyncRequired"


def test_a_delta_token_of_another_mailbox_is_410_resync_required(graph: GraphSimulator, client: httpx.Client) -> None:
    _, delta_link, _ = _round(client, f"/users/{ALICE}/calendarView/delta", WINDOW)
    r = client.get(delta_link.replace(ALICE, BOB))
    assert (r.status_code, r.json()["error"]["code"]) == (410, "resyncRequired")


def test_a_skip_token_can_be_fetched_again_after_a_failure(graph: GraphSimulator, client: httpx.Client) -> None:
    for hour in range(3):
        graph.world.create_appointment(
            ALICE, f"S{hour}", NOW + timedelta(hours=hour + 1), NOW + timedelta(hours=hour + 2)
        )
    first = client.get(
        f"/users/{ALICE}/calendarView/delta", params=WINDOW, headers={"Prefer": "odata.maxpagesize=2"}
    ).json()
    again = [client.get(first["@odata.nextLink"]).json() for _ in range(2)]
    assert again[0]["value"] == again[1]["value"]
    assert again[0]["@odata.deltaLink"] == again[1]["@odata.deltaLink"]


def test_delta_without_a_window_is_400(client: httpx.Client) -> None:
    r = client.get(f"/users/{ALICE}/calendarView/delta")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "ErrorInvalidParameter"


def test_outlook_timezone_is_honoured_and_reported(graph: GraphSimulator, client: httpx.Client) -> None:
    start = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    graph.world.create_appointment(ALICE, "Summer", start, start + timedelta(hours=1))
    window = {"startDateTime": "2026-07-01T00:00:00Z", "endDateTime": "2026-07-02T00:00:00Z"}
    utc = client.get(f"/users/{ALICE}/calendarView/delta", params=window, headers={"Prefer": 'outlook.timezone="UTC"'})
    assert utc.json()["value"][0]["start"] == {"dateTime": "2026-07-01T07:00:00.0000000", "timeZone": "UTC"}
    assert utc.headers["Preference-Applied"] == 'odata.track-changes, outlook.timezone="UTC"'
    berlin = client.get(
        f"/users/{ALICE}/calendarView/delta",
        params=window,
        headers={"Prefer": 'outlook.timezone="W. Europe Standard Time"'},
    )
    assert berlin.json()["value"][0]["start"] == {
        "dateTime": "2026-07-01T09:00:00.0000000",
        "timeZone": "W. Europe Standard Time",
    }


def test_only_the_newest_delta_tokens_of_a_mailbox_stay_valid(graph: GraphSimulator, client: httpx.Client) -> None:
    _, first, _ = _round(client, f"/users/{ALICE}/calendarView/delta", WINDOW)
    link = first
    for _ in range(8):  # Exchange keeps a few sync state generations per mailbox
        _, link, _ = _round(client, link)
    assert client.get(link).status_code == 200
    r = client.get(first)
    assert (r.status_code, r.json()["error"]["code"]) == (410, "syncStateNotFound")
