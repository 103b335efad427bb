"""What EWS sends becomes provider-neutral records, whatever shape exchangelib hands it over in."""

from datetime import UTC, date, datetime, timedelta

import pytest
from exchangelib import CalendarItem, EWSDate, EWSDateTime, EWSTimeZone
from exchangelib.properties import Attendee, HTMLBody, ItemId, Mailbox
from exchangelib.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    DeletedOccurrence,
    EndDatePattern,
    NoEndPattern,
    NumberedPattern,
    Occurrence,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
    WeeklyRegeneration,
)
from lxml import etree

from tc_calendar.model import Response, Sensitivity
from tc_calendar.providers.ews_mapping import (
    FETCH_FIELDS,
    ItemMappingError,
    recurrence_pattern,
    to_remote_item,
    with_exceptions,
)
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
    WeekIndex,
)

BERLIN = EWSTimeZone("Europe/Berlin")
MOSCOW = EWSTimeZone("Europe/Moscow")

ATTENDEE_COPY_XML = b"""<t:CalendarItem xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
<t:ItemId Id="AAMkOcc1" ChangeKey="DwAAAB"/>
<t:Subject>Canceled: Marketing department meeting</t:Subject>
<t:Body BodyType="HTML">&lt;p&gt;Discussion of the work done last week.&lt;/p&gt;</t:Body>
<t:UID>040000008200E00074C5B7101A82E008</t:UID>
<t:RecurrenceId>2026-06-01T22:00:00Z</t:RecurrenceId>
<t:Start>2026-06-01T22:00:00Z</t:Start>
<t:End>2026-06-02T22:00:00Z</t:End>
<t:IsAllDayEvent>true</t:IsAllDayEvent>
<t:Location>Room 1</t:Location>
<t:IsMeeting>true</t:IsMeeting>
<t:IsCancelled>true</t:IsCancelled>
<t:CalendarItemType>Occurrence</t:CalendarItemType>
<t:MyResponseType>Accept</t:MyResponseType>
<t:Organizer><t:Mailbox><t:Name>Postman</t:Name><t:EmailAddress>Postman@Corp.example</t:EmailAddress>
<t:RoutingType>SMTP</t:RoutingType></t:Mailbox></t:Organizer>
<t:RequiredAttendees><t:Attendee><t:Mailbox><t:Name>mail_test169</t:Name>
<t:EmailAddress>Mail_Test169@corp.example</t:EmailAddress></t:Mailbox>
<t:ResponseType>NoResponseReceived</t:ResponseType></t:Attendee></t:RequiredAttendees>
<t:StartTimeZone Id="W. Europe Standard Time" Name="(UTC+01:00) Amsterdam"/>
<t:EndTimeZone Id="W. Europe Standard Time"/>
</t:CalendarItem>"""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_fetch_fields_are_real_calendar_item_fields() -> None:
    for name in FETCH_FIELDS:
        assert CalendarItem.get_field_by_fieldname(name)


def test_an_attendee_copy_parsed_from_ews_xml_of_a_cancelled_all_day_occurrence() -> None:
    item = CalendarItem.from_xml(etree.fromstring(ATTENDEE_COPY_XML), account=None)
    remote = to_remote_item("Mail_Test169@corp.example", item)
    assert remote.mailbox == "mail_test169@corp.example"
    assert (remote.item_id, remote.uid) == ("AAMkOcc1", "040000008200E00074C5B7101A82E008")
    assert remote.kind is ItemKind.OCCURRENCE
    # Exchange's prefix becomes the flag, never part of the title.
    assert (remote.subject, remote.is_cancelled) == ("Marketing department meeting", True)
    # Midnight in Berlin on 2 June is 22:00 UTC on 1 June: the local date is 2 June, one day long.
    assert (remote.is_all_day, remote.start, remote.end) == (True, utc(2026, 6, 2), utc(2026, 6, 3))
    assert remote.start_timezone == "Europe/Berlin"
    # The identity of the occurrence stays the instant Exchange gives every copy.
    assert remote.recurrence_id == utc(2026, 6, 1, 22)
    assert remote.body == ItemBody("<p>Discussion of the work done last week.</p>", BodyType.HTML)
    assert remote.organizer == Person("postman@corp.example", "Postman")
    assert remote.required_attendees == (RemoteAttendee("mail_test169@corp.example", "mail_test169"),)
    assert remote.my_response is Response.ACCEPTED
    assert (remote.location, remote.is_meeting, remote.recurrence) == ("Room 1", True, None)


def meeting(**fields: object) -> CalendarItem:
    defaults: dict[str, object] = {
        "id": "AAMk1",
        "changekey": "CK1",
        "uid": "uid-1",
        "subject": "Weekly sync",
        "start": EWSDateTime(2026, 6, 28, 8, 0, tzinfo=BERLIN),
        "end": EWSDateTime(2026, 6, 28, 8, 30, tzinfo=BERLIN),
        "_start_timezone": BERLIN,
        "_end_timezone": BERLIN,
        "type": "Single",
    }
    defaults.update(fields)
    return CalendarItem(**defaults)


def test_an_organizer_copy_with_every_kind_of_answer() -> None:
    when = EWSDateTime(2026, 6, 20, 9, 0, tzinfo=EWSTimeZone("UTC"))
    item = meeting(
        body=HTMLBody("<b>Agenda</b>"),
        organizer=Mailbox(name="Postman", email_address="postman@corp.example"),
        my_response_type="Organizer",
        required_attendees=[
            Attendee(mailbox=Mailbox(name="A", email_address="a@corp.example"), response_type="Accept",
                     last_response_time=when),
            Attendee(mailbox=Mailbox(name="B", email_address="b@corp.example"), response_type="Unknown"),
            Attendee(mailbox=Mailbox(name="No address"), response_type="Accept"),
        ],
        optional_attendees=[
            Attendee(mailbox=Mailbox(name="C", email_address="c@corp.example"), response_type="Tentative"),
            Attendee(mailbox=Mailbox(name="D", email_address="d@corp.example"), response_type="Decline"),
        ],
    )  # fmt: skip
    remote = to_remote_item("postman@corp.example", item)
    assert (remote.start, remote.end) == (utc(2026, 6, 28, 6), utc(2026, 6, 28, 6, 30))
    assert remote.kind is ItemKind.SINGLE and remote.recurrence_id is None
    assert remote.my_response is Response.ORGANIZER
    assert remote.required_attendees == (
        RemoteAttendee("a@corp.example", "A", Response.ACCEPTED, utc(2026, 6, 20, 9)),
        RemoteAttendee("b@corp.example", "B", Response.NO_RESPONSE),
    )
    assert remote.optional_attendees == (
        RemoteAttendee("c@corp.example", "C", Response.TENTATIVE),
        RemoteAttendee("d@corp.example", "D", Response.DECLINED),
    )
    assert remote.body == ItemBody("<b>Agenda</b>", BodyType.HTML)


def test_booked_rooms_and_the_sensitivity_are_kept() -> None:
    room = Attendee(mailbox=Mailbox(email_address="Room.1@corp.example", name="Room 1"), response_type="Accept")
    remote = to_remote_item("a@corp.example", meeting(resources=[room], sensitivity="Private"))
    assert remote.resources == (RemoteAttendee("room.1@corp.example", "Room 1", Response.ACCEPTED),)
    assert remote.sensitivity is Sensitivity.PRIVATE
    assert to_remote_item("a@corp.example", meeting()).sensitivity is Sensitivity.NORMAL


def test_online_meeting_addresses_outside_the_body_are_kept() -> None:
    item = meeting(net_show_url="https://tcs.corp.example/c/42", meeting_workspace_url=None)
    assert to_remote_item("a@corp.example", item).meeting_urls == ("https://tcs.corp.example/c/42",)


def test_an_all_day_item_built_from_instants_keeps_its_local_dates() -> None:
    item = meeting(
        is_all_day=True,
        start=EWSDateTime(2026, 6, 28, 0, 0, tzinfo=MOSCOW),
        end=EWSDateTime(2026, 6, 30, 0, 0, tzinfo=MOSCOW),
        _start_timezone=MOSCOW,
        _end_timezone=MOSCOW,
    )
    remote = to_remote_item("a@corp.example", item)
    assert (remote.start, remote.end) == (utc(2026, 6, 28), utc(2026, 6, 30))


def test_an_all_day_item_as_dates_uses_the_inclusive_last_day_exchangelib_gives() -> None:
    item = meeting(is_all_day=True, start=EWSDate(2026, 6, 28), end=EWSDate(2026, 6, 29))
    remote = to_remote_item("a@corp.example", item)
    assert (remote.start, remote.end) == (utc(2026, 6, 28), utc(2026, 6, 30))


def test_the_cancellation_prefix_is_stripped_however_often_it_was_added() -> None:
    remote = to_remote_item("a@corp.example", meeting(subject="Canceled: Canceled: Board"))
    assert (remote.subject, remote.is_cancelled) == ("Board", True)
    organizer_copy = to_remote_item("a@corp.example", meeting(subject="Board", is_cancelled=True))
    assert (organizer_copy.subject, organizer_copy.is_cancelled) == ("Board", True)
    assert to_remote_item("a@corp.example", meeting(subject="Cancel culture talk")).is_cancelled is False


def test_a_russian_outlooks_prefix_is_stripped_only_from_items_exchange_flags_cancelled() -> None:
    flagged = to_remote_item("a@corp.example", meeting(subject="Отменено: Планёрка", is_cancelled=True))
    assert (flagged.subject, flagged.is_cancelled) == ("Планёрка", True)
    title = to_remote_item("a@corp.example", meeting(subject="Отменено: разбор отмен"))
    assert (title.subject, title.is_cancelled) == ("Отменено: разбор отмен", False)


def test_a_master_carries_its_pattern_and_its_modified_and_deleted_occurrences() -> None:
    item = meeting(
        type="RecurringMaster",
        recurrence=Recurrence(
            pattern=WeeklyPattern(interval=2, weekdays=["Monday", "Wednesday"], first_day_of_week="Sunday"),
            boundary=EndDatePattern(start=EWSDate(2026, 6, 1), end=EWSDate(2026, 12, 31)),
        ),
        modified_occurrences=[
            Occurrence(
                _id=ItemId(id="EXC1", changekey="c"),
                original_start=EWSDateTime(2026, 6, 15, 8, tzinfo=BERLIN),
                start=EWSDateTime(2026, 6, 16, 9, tzinfo=BERLIN),
                end=EWSDateTime(2026, 6, 16, 10, tzinfo=BERLIN),
            )
        ],
        deleted_occurrences=[DeletedOccurrence(start=EWSDateTime(2026, 6, 17, 8, tzinfo=BERLIN))],
    )
    remote = to_remote_item("a@corp.example", item)
    assert remote.kind is ItemKind.MASTER and remote.recurrence_id is None
    assert remote.recurrence == RecurrencePattern(
        RecurrenceType.WEEKLY,
        RecurrenceRange(date(2026, 6, 1), end_date=date(2026, 12, 31)),
        interval=2,
        weekdays=(DayOfWeek.MONDAY, DayOfWeek.WEDNESDAY),
        first_day_of_week=DayOfWeek.SUNDAY,
    )
    assert remote.modified_occurrences == (
        ModifiedOccurrence(utc(2026, 6, 15, 6), utc(2026, 6, 16, 7), utc(2026, 6, 16, 8), "EXC1"),
    )
    assert remote.deleted_occurrences == (utc(2026, 6, 17, 6),)


START = EWSDate(2026, 1, 1)


@pytest.mark.parametrize(
    ("recurrence", "expected"),
    [
        (
            Recurrence(pattern=DailyPattern(interval=3), boundary=NoEndPattern(start=START)),
            RecurrencePattern(RecurrenceType.DAILY, RecurrenceRange(date(2026, 1, 1)), interval=3),
        ),
        (
            Recurrence(
                pattern=WeeklyPattern(interval=1, weekdays=[1, 3]), boundary=NumberedPattern(start=START, number=10)
            ),
            RecurrencePattern(
                RecurrenceType.WEEKLY,
                RecurrenceRange(date(2026, 1, 1), count=10),
                weekdays=(DayOfWeek.MONDAY, DayOfWeek.WEDNESDAY),
            ),
        ),
        (
            Recurrence(pattern=AbsoluteMonthlyPattern(interval=1, day_of_month=15), boundary=NoEndPattern(start=START)),
            RecurrencePattern(RecurrenceType.ABSOLUTE_MONTHLY, RecurrenceRange(date(2026, 1, 1)), day_of_month=15),
        ),
        (
            # After parsing XML, exchangelib holds enums as 1-based numbers: 9 is "Weekday", 5 is "Last".
            Recurrence(
                pattern=RelativeMonthlyPattern(interval=2, weekday=9, week_number=5), boundary=NoEndPattern(start=START)
            ),
            RecurrencePattern(
                RecurrenceType.RELATIVE_MONTHLY,
                RecurrenceRange(date(2026, 1, 1)),
                interval=2,
                weekdays=(DayOfWeek.WEEKDAY,),
                week_index=WeekIndex.LAST,
            ),
        ),
        (
            Recurrence(
                pattern=AbsoluteYearlyPattern(day_of_month=29, month="February"), boundary=NoEndPattern(start=START)
            ),
            RecurrencePattern(
                RecurrenceType.ABSOLUTE_YEARLY, RecurrenceRange(date(2026, 1, 1)), day_of_month=29, month=2
            ),
        ),
        (
            Recurrence(
                pattern=RelativeYearlyPattern(weekday="Thursday", week_number="Fourth", month=11),
                boundary=NoEndPattern(start=START),
            ),
            RecurrencePattern(
                RecurrenceType.RELATIVE_YEARLY,
                RecurrenceRange(date(2026, 1, 1)),
                weekdays=(DayOfWeek.THURSDAY,),
                week_index=WeekIndex.FOURTH,
                month=11,
            ),
        ),
    ],
)
def test_every_ews_pattern_maps_to_the_neutral_pattern(recurrence: Recurrence, expected: RecurrencePattern) -> None:
    assert recurrence_pattern(recurrence) == expected


def test_task_regeneration_patterns_are_refused() -> None:
    with pytest.raises(ItemMappingError, match="WeeklyRegeneration"):
        recurrence_pattern(Recurrence(pattern=WeeklyRegeneration(interval=1), boundary=NoEndPattern(start=START)))


def test_an_item_without_a_start_is_refused_naming_the_mailbox() -> None:
    with pytest.raises(ItemMappingError, match=r"a@corp.example: calendar item 'AAMk1'"):
        to_remote_item("A@corp.example", meeting(start=None))


def test_exceptions_of_the_same_series_are_attached_to_the_master() -> None:
    master = to_remote_item("a@corp.example", meeting(type="RecurringMaster"))
    exception = to_remote_item(
        "a@corp.example",
        meeting(id="EXC1", type="Exception", original_start=EWSDateTime(2026, 6, 15, 8, tzinfo=BERLIN)),
    )
    stranger = to_remote_item(
        "a@corp.example", meeting(id="X", uid="other", type="Exception", recurrence_id=EWSDateTime.now(BERLIN))
    )
    attached = with_exceptions(master, [exception, stranger])
    assert attached.exceptions == (exception,)
    assert exception.recurrence_id == utc(2026, 6, 15, 6)
    assert attached.start - master.start == timedelta(0)
