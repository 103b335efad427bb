"""Scenario files and the control facade: the demo organisation, time notations, errors, JSON commands."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ews_sim.world import (
    DEMO_SCENARIO,
    CalendarItemType,
    Control,
    InvalidRequest,
    ResponseType,
    ScenarioError,
    SimClock,
    World,
    load_scenario,
)
from ews_sim.world.scenario import TimeSpecs, parse_duration

NOW = datetime(2026, 3, 25, 6, 0, tzinfo=UTC)  # a Wednesday; Berlin changes to summer time on Sunday 29 March
D = "@nordwind.example"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def demo() -> tuple[World, dict[str, str]]:
    world = World(SimClock(lambda: NOW))
    return world, load_scenario(DEMO_SCENARIO, world)


def in_days(world: World, smtp: str, first: str, last: str) -> list:
    return world.calendar_view(smtp, utc(f"{first}T00:00"), utc(f"{last}T00:00"))


def by_uid(items: list, uid: str) -> list:
    return [i for i in items if i.uid == uid]


def test_demo_directory(demo: tuple[World, dict[str, str]]) -> None:
    world, uids = demo
    mailboxes = world.mailboxes()
    assert len(mailboxes) == 20
    assert {m.time_zone for m in mailboxes} >= {"Europe/Berlin", "Europe/Moscow", "America/New_York", "Asia/Tokyo"}
    svc = world.authenticate("svc-trueconf", "TrueConf-Demo-2026")
    assert svc is not None and svc.impersonation
    assert f"lukas.weber{D}" in world.mailbox(f"anna.schmidt{D}").delegates
    assert len(uids) == 24


def test_demo_standup_is_weekdays_at_half_past_nine_berlin_with_exception_and_deletion(
    demo: tuple[World, dict[str, str]],
) -> None:
    world, uids = demo
    jonas = by_uid(in_days(world, f"jonas.fischer{D}", "2026-03-25", "2026-04-01"), uids["eng-standup"])
    assert [(i.start, i.calendar_item_type) for i in jonas] == [
        (utc("2026-03-25T08:30"), CalendarItemType.OCCURRENCE),
        (utc("2026-03-26T10:00"), CalendarItemType.EXCEPTION),  # moved to 11:00
        (utc("2026-03-27T08:30"), CalendarItemType.OCCURRENCE),
        (utc("2026-03-31T07:30"), CalendarItemType.OCCURRENCE),  # Monday 30th deleted; summer time from here
    ]
    assert jonas[1].subject == "Engineering standup (after release review)"
    olga = by_uid(in_days(world, f"olga.smirnova{D}", "2026-03-25", "2026-04-01"), uids["eng-standup"])
    assert utc("2026-03-27T08:30") not in [i.start for i in olga]  # she declined that one
    haruto = by_uid(world.find_items(f"haruto.sato{D}"), uids["eng-standup"])
    assert haruto[0].my_response_type == ResponseType.NO_RESPONSE_RECEIVED


def test_demo_cancelled_delegated_rescheduled_and_all_day(demo: tuple[World, dict[str, str]]) -> None:
    world, uids = demo
    (cancelled,) = by_uid(world.find_items(f"sophie.mueller{D}"), uids["roadmap-workshop"])
    assert cancelled.is_cancelled and cancelled.subject == "Canceled: Roadmap workshop"
    assert by_uid(world.find_items(f"marie.hoffmann{D}"), uids["roadmap-workshop"]) == []
    (board,) = by_uid(world.find_items(f"anna.schmidt{D}"), uids["board-prep"])
    assert board.is_organizer and board.organizer is not None and board.organizer.email_address == f"anna.schmidt{D}"
    assert by_uid(world.find_items(f"lukas.weber{D}"), uids["board-prep"]) == []
    (one_on_one,) = by_uid(world.find_items(f"sophie.mueller{D}"), uids["one-on-one"])
    assert one_on_one.start == utc("2026-03-26T15:00") and one_on_one.appointment_sequence_number == 1
    assert one_on_one.my_response_type == ResponseType.ACCEPT
    (offsite,) = by_uid(world.find_items(f"lea.wagner{D}"), uids["eng-offsite"])
    assert offsite.is_all_day and offsite.end - offsite.start == timedelta(days=2)
    (emily_launch,) = by_uid(world.find_items(f"emily.davis{D}"), uids["launch-planning"])
    assert emily_launch.is_cancelled  # removed from the attendee list by an update
    assert by_uid(world.find_items(f"oliver.jones{D}"), uids["launch-planning"])
    (private,) = by_uid(world.find_items(f"anna.schmidt{D}"), uids["salary-review"])
    assert private.sensitivity == "Private"
    room = world.find_items(f"room.spree{D}")
    assert {i.uid for i in room} == {uids["mgmt-weekly"], uids["board-prep"]}
    assert {i.my_response_type for i in room} == {ResponseType.ACCEPT}
    (kept,) = by_uid(world.find_items(f"felix.becker{D}"), uids["security-training"])
    assert kept.my_response_type == ResponseType.DECLINE
    assert by_uid(world.find_items(f"john.miller{D}"), uids["security-training"]) == []


def test_demo_has_conference_links_and_every_item_type(demo: tuple[World, dict[str, str]]) -> None:
    world, _ = demo
    items = [i for m in world.mailboxes() for i in in_days(world, m.smtp, "2026-03-18", "2026-04-15")]
    linked = {i.uid for i in items if "https://tcs.example.com/c/" in i.location + i.body.content}
    assert len(linked) >= 10
    assert {i.calendar_item_type for i in items} == {
        CalendarItemType.SINGLE,
        CalendarItemType.OCCURRENCE,
        CalendarItemType.EXCEPTION,
    }
    assert any(i.is_all_day for i in items)


@pytest.mark.parametrize("day", range(7))
def test_demo_loads_on_any_weekday(day: int) -> None:
    now = NOW + timedelta(days=day)
    world = World(SimClock(lambda: now))
    assert len(load_scenario(DEMO_SCENARIO, world)) == 24


@pytest.mark.parametrize(
    "now",
    [
        "2026-03-29T00:30:00+00:00",
        "2026-10-25T01:30:00+00:00",
        "2027-12-31T23:30:00+00:00",
        "2028-02-29T12:00:00+00:00",
    ],
)
def test_demo_loads_on_clock_changes_and_year_ends(now: str) -> None:
    when = datetime.fromisoformat(now)
    world = World(SimClock(lambda: when))
    assert len(load_scenario(DEMO_SCENARIO, world)) == 24


def test_time_specs() -> None:
    specs = TimeSpecs(NOW)  # 06:00 UTC = 15:00 in Tokyo, 02:00 in New York
    assert specs.instant("+2d 09:00", "Europe/Berlin") == utc("2026-03-27T08:00")
    assert specs.instant("+1w 09:00", "Europe/Berlin") == utc("2026-04-01T07:00")
    assert specs.instant("-1d 14:30", "America/New_York") == utc("2026-03-24T18:30")
    assert specs.instant("today 9:00", "Asia/Tokyo") == utc("2026-03-25T00:00")
    assert specs.instant("tomorrow", "UTC") == utc("2026-03-26T00:00")
    assert specs.instant("2026-05-01T10:00", "Europe/Moscow") == utc("2026-05-01T07:00")
    assert specs.instant("2026-05-01T10:00Z", "Europe/Moscow") == utc("2026-05-01T10:00")
    assert specs.instant("10:30", "UTC", date(2026, 4, 2)) == utc("2026-04-02T10:30")
    assert specs.day("+8w", "UTC") == date(2026, 5, 20)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    assert parse_duration(45) == timedelta(minutes=45)
    with pytest.raises(ScenarioError):
        parse_duration("soon")
    with pytest.raises(ScenarioError):
        specs.instant("next tuesday", "UTC")


def small(**meeting: object) -> dict:
    base = {"organizer": "a@x.example", "subject": "S", "start": "+1d 10:00", "required": ["b@x.example"]}
    base.update(meeting)
    return {
        "mailboxes": [{"smtp": "a@x.example", "name": "A", "time_zone": "Europe/Berlin"}, {"smtp": "b@x.example"}],
        "meetings": [base],
    }


def test_small_scenario_with_explicit_times() -> None:
    world = World(SimClock(lambda: NOW))
    uids = load_scenario(small(id="m", start="2026-04-01T10:00", duration="1h"), world)
    (item,) = world.find_items("b@x.example")
    assert item.uid == uids["m"] and (item.start, item.end) == (utc("2026-04-01T08:00"), utc("2026-04-01T09:00"))


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        (small(colour="red"), "meetings[0] (S): meeting: unknown keys ['colour']"),
        (small(organizer="ghost@x.example"), "meetings[0] (S): The SMTP address has no mailbox"),
        (small(recurrence={"pattern": "fortnightly"}), "unknown recurrence pattern"),
        ({"mailboxes": [{"name": "no smtp"}]}, "mailboxes[0]: missing key 'smtp'"),
        ({"rooms": []}, "scenario: unknown keys ['rooms']"),
    ],
)
def test_scenario_errors_name_the_entry(scenario: dict, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario, World(SimClock(lambda: NOW)))
    assert message in str(info.value)


def test_control_dispatch_speaks_json() -> None:
    clock = SimClock(lambda: NOW)
    control = Control(World(clock))
    control.dispatch("add_mailbox", {"smtp": "a@x.example", "display_name": "A", "time_zone": "Europe/Berlin"})
    control.dispatch("add_mailbox", {"smtp": "b@x.example", "display_name": "B"})
    created = control.dispatch(
        "create_meeting",
        {
            "organizer": "a@x.example",
            "subject": "Weekly",
            "start": "2026-03-30T09:00",
            "end": "2026-03-30T09:30",
            "required": ["b@x.example"],
            "recurrence": {"pattern": "weekly", "days": ["Monday"], "count": 3},
            "extended_properties": {"PublicStrings|Marker|String": "x"},
        },
    )
    assert created["item"]["start"] == "2026-03-30T07:00:00+00:00"
    assert created["item"]["recurrence"]["count"] == 3
    assert created["item"]["extended_properties"] == {"PublicStrings|Marker|String": "x"}
    assert created["item"]["display_to"] == "B"
    uid = created["uid"]
    control.dispatch("respond", {"attendee": "b@x.example", "uid": uid, "response": "Accept"})
    control.dispatch("update_occurrence", {"organizer": "a@x.example", "uid": uid, "occurrence": 2, "subject": "Other"})
    control.dispatch(
        "delete_occurrence", {"organizer": "a@x.example", "uid": uid, "occurrence": "2026-04-13T07:00:00Z"}
    )
    view = control.dispatch("calendar_view", {"mailbox": "b@x.example", "start": "2026-03-30", "end": "2026-04-20"})
    assert [(i["subject"], i["my_response_type"]) for i in view["items"]] == [("Weekly", "Accept"), ("Other", "Accept")]
    control.dispatch("server_busy", {"count": 2, "backoff_ms": 100})
    faults = control.dispatch("faults")["faults"]
    assert faults["server_busy"] == [{"remaining": 2, "backoff_ms": 100, "account": None}]
    control.dispatch("mailbox_unavailable", {"mailbox": "b@x.example"})
    assert control.dispatch("faults")["faults"]["unavailable_mailboxes"] == {
        "b@x.example": "ErrorMailboxStoreUnavailable"
    }
    control.dispatch("clear_faults")
    assert control.dispatch("advance_clock", {"seconds": 3600})["now"] == "2026-03-25T07:00:00+00:00"
    assert control.dispatch("counters") == {"counters": {}}
    with pytest.raises(KeyError):
        control.dispatch("launch_rockets", {})
    with pytest.raises(InvalidRequest):
        control.dispatch("delete_item", {"wrong": 1})
    assert "create_meeting" in control.commands()


def test_control_loads_a_scenario() -> None:
    control = Control(World(SimClock(lambda: NOW)))
    result = control.dispatch("load_scenario", {"scenario": small(id="m")})
    assert set(result["meetings"]) == {"m"}
    assert len(control.dispatch("find_items", {"mailbox": "b@x.example"})["items"]) == 1


def test_control_turns_a_single_meeting_into_a_series() -> None:
    control = Control(World(SimClock(lambda: NOW)))
    control.dispatch("load_scenario", {"scenario": small(id="m", start="2026-03-30T10:00")})
    uid = control.dispatch("find_items", {"mailbox": "b@x.example"})["items"][0]["uid"]
    changed = control.dispatch(
        "update_meeting",
        {"organizer": "a@x.example", "uid": uid, "recurrence": {"pattern": "daily", "count": 2}},
    )
    assert changed["item"]["calendar_item_type"] == "RecurringMaster"
    assert changed["item"]["recurrence"]["start_date"] == "2026-03-30"
    view = control.dispatch("calendar_view", {"mailbox": "b@x.example", "start": "2026-03-30", "end": "2026-04-02"})
    assert [i["start"] for i in view["items"]] == ["2026-03-30T08:00:00+00:00", "2026-03-31T08:00:00+00:00"]


def test_every_control_command_answers_json() -> None:
    import json

    control = Control(World(SimClock(lambda: NOW)))
    control.dispatch("load_scenario", {"scenario": small(id="m", start="2026-03-30T10:00")})
    uid = control.dispatch(
        "items_by_uid", {"uid": control.dispatch("find_items", {"mailbox": "a@x.example"})["items"][0]["uid"]}
    )
    item_id = uid["items"][0]["item_id"]
    meeting_uid = uid["items"][0]["uid"]
    day = {"start": "2026-03-30", "end": "2026-03-31"}
    calls: dict[str, dict] = {
        "add_mailbox": {"smtp": "c@x.example", "display_name": "C"},
        "add_service_account": {"login": "svc", "password": "pw"},
        "grant_delegate": {"owner": "a@x.example", "delegate": "c@x.example"},
        "revoke_delegate": {"owner": "a@x.example", "delegate": "c@x.example"},
        "list_mailboxes": {},
        "find_mailboxes": {"query": "a"},
        "create_appointment": {"mailbox": "c@x.example", "subject": "x", **day},
        "create_meeting": {"organizer": "c@x.example", "subject": "y", **day, "required": ["a@x.example"]},
        "respond": {"attendee": "b@x.example", "uid": meeting_uid, "response": "Tentative"},
        "update_meeting": {"organizer": "a@x.example", "uid": meeting_uid, "subject": "S2"},
        "update_occurrence": None,  # needs a series: covered in test_control_dispatch_speaks_json
        "delete_occurrence": None,
        "cancel_meeting": None,
        "update_item": {"item_id": item_id, "categories": ["Red"]},
        "delete_item": None,
        "calendar_view": {"mailbox": "a@x.example", **day},
        "find_items": {"mailbox": "a@x.example"},
        "get_item": {"item_id": item_id},
        "items_by_uid": {"uid": meeting_uid},
        "availability": {"mailbox": "a@x.example", **day},
        "server_busy": {"count": 1},
        "http_error": {"status": 503},
        "ews_error": {"response_code": "ErrorInternalServerError", "operation": "Subscribe"},
        "latency": {"ms": 5},
        "max_concurrency": {"limit": 5},
        "drop_streaming": {},
        "expire_subscriptions": {},
        "invalidate_sync_states": {"mailbox": "a@x.example"},
        "mailbox_unavailable": {"mailbox": "c@x.example", "seconds": 1},
        "item_corrupt": {"item_id": item_id, "corrupt": False},
        "clear_faults": {},
        "faults": {},
        "counters": {},
        "reset_counters": {},
        "now": {},
        "advance_clock": {"seconds": 1},
        "set_clock": {"now": "2026-03-25T06:00:00Z"},
        "load_scenario": None,  # covered above
        "populate": {"mailboxes": 2, "meetings_per_mailbox": 1},
        "reset": None,  # last, below
    }
    assert set(calls) == set(control.commands())
    for command, params in calls.items():
        if params is not None:
            json.dumps(control.dispatch(command, params))
    assert control.dispatch("reset") == {"ok": True}
