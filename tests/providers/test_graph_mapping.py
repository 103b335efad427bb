"""Graph event JSON as the sync core receives it: the same records as the same event read through EWS."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from tc_calendar.model import Response
from tc_calendar.providers.graph_mapping import (
    GraphMappingError,
    is_removed,
    parse_instant,
    recurrence_pattern,
    series_uid,
    to_remote_item,
)
from tc_calendar.records import BodyType, DayOfWeek, ItemKind, RecurrenceType, WeekIndex

BOB = "bob@corp.test"


def event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "AAMkAD-1",
        "changeKey": "ck1",
        "iCalUId": "040000008200E00074C5B7101A82E008-1",
        "type": "singleInstance",
        "subject": "Standup",
        "body": {"contentType": "html", "content": "<p>Join: https://video.corp.test/c/standup</p>"},
        "start": {"dateTime": "2026-12-04T10:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-04T10:15:00.0000000", "timeZone": "UTC"},
        "isAllDay": False,
        "originalStartTimeZone": "W. Europe Standard Time",
        "originalEndTimeZone": "W. Europe Standard Time",
        "location": {"displayName": "Room 1"},
        "organizer": {"emailAddress": {"name": "Alice Archer", "address": "Alice@Corp.test"}},
        "isOrganizer": False,
        "responseStatus": {"response": "accepted", "time": "2026-12-01T08:00:00Z"},
        "attendees": [
            {"type": "required", "status": {"response": "accepted", "time": "2026-12-01T08:00:00Z"},
             "emailAddress": {"name": "Bob Baker", "address": "bob@corp.test"}},
            {"type": "optional", "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
             "emailAddress": {"name": "Carol Cook", "address": "carol@corp.test"}},
            {"type": "resource", "status": {"response": "accepted"},
             "emailAddress": {"name": "Room 1", "address": "room1@corp.test"}},
        ],
        "isCancelled": False,
        "sensitivity": "normal",
        "onlineMeeting": None,
        "lastModifiedDateTime": "2026-12-01T08:00:00.1234567Z",
    }  # fmt: skip
    base.update(fields)
    return base


def test_a_meeting_in_an_attendees_calendar_maps_to_the_record_ews_gives() -> None:
    item = to_remote_item(BOB, event())

    assert (item.item_id, item.uid, item.kind) == ("AAMkAD-1", "040000008200E00074C5B7101A82E008-1", ItemKind.SINGLE)
    assert (item.start, item.end) == (datetime(2026, 12, 4, 10, tzinfo=UTC), datetime(2026, 12, 4, 10, 15, tzinfo=UTC))
    assert item.start_timezone == "Europe/Berlin"
    assert item.organizer is not None and item.organizer.email == "alice@corp.test"
    assert [(a.email, a.response) for a in item.required_attendees] == [(BOB, Response.ACCEPTED)]
    assert [(a.email, a.response, a.last_response_time) for a in item.optional_attendees] == [
        ("carol@corp.test", Response.NO_RESPONSE, None)
    ]
    assert item.my_response is Response.ACCEPTED
    assert item.body.type is BodyType.HTML and "video.corp.test/c/standup" in item.body.content
    assert item.location == "Room 1" and item.is_meeting and not item.is_cancelled
    assert item.last_modified == datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=UTC)


def test_the_organizers_copy_is_marked_organizer_even_when_graph_says_none() -> None:
    item = to_remote_item("alice@corp.test", event(isOrganizer=True, responseStatus={"response": "none"}))
    assert item.my_response is Response.ORGANIZER


def test_a_cancelled_attendee_copy_loses_the_prefix_and_is_flagged() -> None:
    item = to_remote_item(BOB, event(subject="Canceled: Budget", isCancelled=True))
    assert (item.subject, item.is_cancelled) == ("Budget", True)


def test_an_all_day_event_keeps_its_dates_as_midnight_utc_end_exclusive() -> None:
    item = to_remote_item(BOB, event(
        isAllDay=True,
        start={"dateTime": "2026-12-04T00:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2026-12-05T00:00:00.0000000", "timeZone": "UTC"},
    ))  # fmt: skip
    assert (item.start, item.end, item.is_all_day) == (
        datetime(2026, 12, 4, tzinfo=UTC), datetime(2026, 12, 5, tzinfo=UTC), True
    )  # fmt: skip


def test_an_all_day_event_shifted_into_utc_from_its_zone_keeps_its_dates() -> None:
    item = to_remote_item(BOB, event(
        isAllDay=True,
        start={"dateTime": "2026-12-03T23:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2026-12-04T23:00:00.0000000", "timeZone": "UTC"},
    ))  # fmt: skip
    assert (item.start, item.end) == (datetime(2026, 12, 4, tzinfo=UTC), datetime(2026, 12, 5, tzinfo=UTC))


def test_an_occurrence_is_identified_by_its_original_start_and_carries_its_series_pattern() -> None:
    weekly = recurrence_pattern({
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["friday"], "firstDayOfWeek": "monday"},
        "range": {"type": "numbered", "startDate": "2026-12-04", "numberOfOccurrences": 4},
    })  # fmt: skip
    item = to_remote_item(
        BOB,
        event(type="exception", seriesMasterId="master-1", originalStart="2026-12-11T10:00:00Z",
              start={"dateTime": "2026-12-12T10:00:00.0000000", "timeZone": "UTC"},
              end={"dateTime": "2026-12-12T11:00:00.0000000", "timeZone": "UTC"}),
        recurrence=weekly,
    )  # fmt: skip
    assert item.kind is ItemKind.EXCEPTION
    assert item.recurrence_id == datetime(2026, 12, 11, 10, tzinfo=UTC)
    assert item.recurrence == weekly
    assert item.master_item_id is None  # filed under its own id: delta removes instances by their ids


def test_recurrence_patterns_of_every_kind() -> None:
    monthly = recurrence_pattern({
        "pattern": {"type": "relativeMonthly", "interval": 2, "daysOfWeek": ["tuesday"], "index": "last"},
        "range": {"type": "endDate", "startDate": "2026-01-01", "endDate": "2026-12-31"},
    })  # fmt: skip
    assert monthly is not None
    assert (monthly.type, monthly.interval, monthly.weekdays, monthly.week_index) == (
        RecurrenceType.RELATIVE_MONTHLY, 2, (DayOfWeek.TUESDAY,), WeekIndex.LAST
    )  # fmt: skip
    assert (monthly.range.end_date, monthly.range.count) == (date(2026, 12, 31), None)
    yearly = recurrence_pattern({
        "pattern": {"type": "absoluteYearly", "interval": 1, "month": 3, "dayOfMonth": 15},
        "range": {"type": "noEnd", "startDate": "2026-03-15"},
    })  # fmt: skip
    assert yearly is not None and (yearly.month, yearly.day_of_month, yearly.range.end_date) == (3, 15, None)
    assert recurrence_pattern(None) is None
    with pytest.raises(GraphMappingError):
        recurrence_pattern({"pattern": {"type": "hourly"}, "range": {"startDate": "2026-01-01"}})


def test_online_meeting_addresses_are_kept_for_the_link_rules() -> None:
    item = to_remote_item(BOB, event(onlineMeeting={"joinUrl": "https://video.corp.test/c/42"}))
    assert item.meeting_urls == ("https://video.corp.test/c/42",)


def test_removed_entries_and_instants() -> None:
    assert is_removed({"id": "x", "@removed": {"reason": "deleted"}})
    assert not is_removed(event())
    assert parse_instant("2026-12-04T10:00:00.1234567Z") == datetime(2026, 12, 4, 10, 0, 0, 123456, tzinfo=UTC)
    with pytest.raises(GraphMappingError):
        to_remote_item(BOB, event(start=None))


def test_an_instances_ical_uid_with_its_date_becomes_the_series_uid_ews_reports() -> None:
    series = "040000008200E00074C5B7101A82E00800000000F93CBA0F13931215F50B226212E98D3B"
    instance = "040000008200E00074C5B7101A82E00807EA0C04F93CBA0F13931215F50B226212E98D3B"
    item = to_remote_item(BOB, event(type="occurrence", iCalUId=instance, originalStart="2026-12-04T10:00:00Z"))
    assert item.uid == series
    assert series_uid("abc@calendar.example") == "abc@calendar.example"
