"""Records cross from EWS worker processes to the connector pickled (``providers/workers.py``): every field arrives."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, date, datetime, timedelta

import pytest

from tc_calendar.model import Response, Sensitivity
from tc_calendar.records import (
    BodyType,
    DayOfWeek,
    ItemBody,
    ItemKind,
    ModifiedOccurrence,
    Person,
    RecurrencePattern,
    RecurrenceRange,
    RecurrenceType,
    RemoteAttendee,
    RemoteItem,
    SyncBatch,
    WindowSnapshot,
)

START = datetime(2027, 1, 4, 9, tzinfo=UTC)


def a_series() -> RemoteItem:
    """A master with every field set to something other than its default, and one exception."""
    moved = START + timedelta(days=7, hours=2)
    exception = RemoteItem("bob@corp.test", "AAMkEx", "uid-1", ItemKind.EXCEPTION, "Review (moved)", moved,
                           moved + timedelta(hours=1), recurrence_id=START + timedelta(days=7))  # fmt: skip
    return RemoteItem(
        mailbox="bob@corp.test",
        item_id="AAMkMaster",
        uid="uid-1",
        kind=ItemKind.MASTER,
        subject="Review",
        start=START,
        end=START + timedelta(hours=1),
        body=ItemBody("<p>https://video.example/c/1</p>", BodyType.HTML),
        is_all_day=False,
        start_timezone="W. Europe Standard Time",
        end_timezone="W. Europe Standard Time",
        location="Room 1",
        meeting_urls=("https://video.example/c/1",),
        organizer=Person("alice@corp.test", "Alice"),
        required_attendees=(RemoteAttendee("bob@corp.test", "Bob", Response.ACCEPTED, START - timedelta(days=1)),),
        optional_attendees=(RemoteAttendee("carol@corp.test"),),
        resources=(RemoteAttendee("room1@corp.test", "Room 1", Response.ACCEPTED),),
        my_response=Response.ACCEPTED,
        is_cancelled=True,
        is_meeting=True,
        master_item_id="AAMkMaster",
        recurrence=RecurrencePattern(
            RecurrenceType.WEEKLY, RecurrenceRange(date(2027, 1, 4), count=5), interval=2,
            weekdays=(DayOfWeek.MONDAY,), first_day_of_week=DayOfWeek.SUNDAY,
        ),
        modified_occurrences=(ModifiedOccurrence(START + timedelta(days=7), moved, moved + timedelta(hours=1),
                                                 "AAMkEx"),),
        deleted_occurrences=(START + timedelta(days=21),),
        exceptions=(exception,),
        last_modified=START - timedelta(days=2),
        sensitivity=Sensitivity.PRIVATE,
    )


@pytest.mark.parametrize(
    "record",
    [
        a_series(),
        WindowSnapshot((a_series(),), "H4sIAAAAAAAEAO29B2"),
        SyncBatch("bob@corp.test", (a_series(),), ("AAMkGone",), "H4sIAAAAAAAEAO29B3", includes_last=False),
        ItemBody("plain"),
        Person("alice@corp.test"),
    ],
    ids=["series", "window", "batch", "body", "person"],
)
def test_a_record_pickled_and_read_back_is_equal_field_for_field(record: object) -> None:
    copy = pickle.loads(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
    rebuild, fields = record.__reduce__()  # the constructor call, not the dataclass default's state

    assert copy == record
    assert type(copy) is type(record)
    assert rebuild is type(record) and len(fields) == len(dataclasses.fields(record))  # type: ignore[arg-type]
    assert all(
        getattr(copy, f.name) == getattr(record, f.name)
        for f in dataclasses.fields(record)  # type: ignore[arg-type]
    )
