"""What EWS sends (``t:CalendarItem`` XML, as GetItem and FindItem answer) becomes provider-neutral records."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

import ews_sim
from tc_calendar.model import Response, Sensitivity
from tc_calendar.providers.ews_mapping import (
    FETCH_FIELD_URIS,
    VIEW_FIELD_URIS,
    ItemMappingError,
    SyncChange,
    ViewRow,
    calendar_items,
    item_ref,
    recurrence_pattern,
    sync_change,
    to_remote_item,
    view_row,
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

T = "http://schemas.microsoft.com/exchange/services/2006/types"

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

# A whole GetItem answer as Exchange 2016 sends it: one item found, one id no longer there.
GET_ITEM_ANSWER = b"""<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
  <s:Header>
    <h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6"
      Version="V2017_07_11" xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types"/>
  </s:Header>
  <s:Body>
    <m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
        xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
      <m:ResponseMessages>
        <m:GetItemResponseMessage ResponseClass="Success">
          <m:ResponseCode>NoError</m:ResponseCode>
          <m:Items>
            <t:CalendarItem>
              <t:ItemId Id="AAMkADk0MmQ1" ChangeKey="DwAAABYAAAA"/>
              <t:Subject>Quarterly planning</t:Subject>
              <t:Sensitivity>Private</t:Sensitivity>
              <t:Body BodyType="Text">Agenda: https://video.corp.example/c/77</t:Body>
              <t:LastModifiedTime>2026-05-20T08:15:02Z</t:LastModifiedTime>
              <t:UID>040000008200E00074C5B7101A82E00800000000A1</t:UID>
              <t:Start>2026-06-03T07:00:00Z</t:Start>
              <t:End>2026-06-03T08:30:00Z</t:End>
              <t:IsAllDayEvent>false</t:IsAllDayEvent>
              <t:Location>Room 4</t:Location>
              <t:IsMeeting>true</t:IsMeeting>
              <t:IsCancelled>false</t:IsCancelled>
              <t:CalendarItemType>Single</t:CalendarItemType>
              <t:MyResponseType>Organizer</t:MyResponseType>
              <t:Organizer><t:Mailbox><t:Name>Anna Adams</t:Name><t:EmailAddress>anna@corp.example</t:EmailAddress>
                <t:RoutingType>SMTP</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox></t:Organizer>
              <t:RequiredAttendees>
                <t:Attendee><t:Mailbox><t:Name>Boris Brown</t:Name><t:EmailAddress>Boris@corp.example</t:EmailAddress>
                  <t:RoutingType>SMTP</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox>
                  <t:ResponseType>Accept</t:ResponseType><t:LastResponseTime>2026-05-21T10:00:00Z</t:LastResponseTime>
                </t:Attendee>
              </t:RequiredAttendees>
              <t:Resources>
                <t:Attendee><t:Mailbox><t:Name>Room 4</t:Name><t:EmailAddress>room4@corp.example</t:EmailAddress>
                  <t:RoutingType>SMTP</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox>
                  <t:ResponseType>Accept</t:ResponseType></t:Attendee>
              </t:Resources>
              <t:StartTimeZone Id="Russian Standard Time" Name="(UTC+03:00) Moscow, St. Petersburg">
                <t:Periods><t:Period Bias="-PT3H" Name="Standard" Id="Std"/></t:Periods>
              </t:StartTimeZone>
              <t:EndTimeZone Id="Russian Standard Time" Name="(UTC+03:00) Moscow, St. Petersburg"/>
              <t:MeetingWorkspaceUrl/>
              <t:NetShowUrl>https://video.corp.example/c/77</t:NetShowUrl>
            </t:CalendarItem>
          </m:Items>
        </m:GetItemResponseMessage>
        <m:GetItemResponseMessage ResponseClass="Error">
          <m:MessageText>The specified object was not found in the store.</m:MessageText>
          <m:ResponseCode>ErrorItemNotFound</m:ResponseCode>
          <m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>
          <m:Items/>
        </m:GetItemResponseMessage>
      </m:ResponseMessages>
    </m:GetItemResponse>
  </s:Body>
</s:Envelope>"""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def item(*elements: str, item_id: str = "AAMk1", kind: str = "Single", zone: str = "W. Europe Standard Time") -> bytes:
    """A ``t:CalendarItem`` with an id, a UID, a type, a Berlin zone and ``elements`` (Start and End when absent)."""
    body = "".join(elements)
    if "<t:Start>" not in body and "<t:End>" not in body:
        body += "<t:Start>2026-06-28T06:00:00Z</t:Start><t:End>2026-06-28T06:30:00Z</t:End>"
    zones = f'<t:StartTimeZone Id="{zone}"/><t:EndTimeZone Id="{zone}"/>' if zone else ""
    return (
        f'<t:CalendarItem xmlns:t="{T}"><t:ItemId Id="{item_id}" ChangeKey="CK1"/><t:Subject>Weekly sync</t:Subject>'
        f"<t:UID>uid-1</t:UID>{body}<t:CalendarItemType>{kind}</t:CalendarItemType>{zones}</t:CalendarItem>"
    ).encode()


def mapped(xml: bytes, mailbox: str = "a@corp.example", **options: str):  # type: ignore[no-untyped-def]
    [found] = calendar_items(xml, mailbox, **options)
    return found


def attendee(email: str, name: str, answer: str, when: str = "") -> str:
    last = f"<t:LastResponseTime>{when}</t:LastResponseTime>" if when else ""
    address = f"<t:EmailAddress>{email}</t:EmailAddress>" if email else ""
    return (
        f"<t:Attendee><t:Mailbox><t:Name>{name}</t:Name>{address}</t:Mailbox>"
        f"<t:ResponseType>{answer}</t:ResponseType>{last}</t:Attendee>"
    )


def test_every_property_asked_for_is_an_ews_field_uri() -> None:
    schema = etree.parse(str(Path(ews_sim.__file__).parent / "xsd" / "types.xsd"))
    xs = "{http://www.w3.org/2001/XMLSchema}"
    uris = {
        e.get("value")
        for e in schema.iterfind(f"{xs}simpleType[@name='UnindexedFieldURIType']/{xs}restriction/{xs}enumeration")
    }
    assert set(FETCH_FIELD_URIS) <= uris and set(VIEW_FIELD_URIS) <= uris


def test_an_attendee_copy_of_a_cancelled_all_day_occurrence() -> None:
    remote = mapped(ATTENDEE_COPY_XML, "Mail_Test169@corp.example")
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


def test_a_getitem_answer_gives_the_items_found_and_skips_the_error_messages() -> None:
    [remote] = calendar_items(GET_ITEM_ANSWER, "Anna@corp.example")
    assert (remote.item_id, remote.kind, remote.subject) == ("AAMkADk0MmQ1", ItemKind.SINGLE, "Quarterly planning")
    assert (remote.start, remote.end) == (utc(2026, 6, 3, 7), utc(2026, 6, 3, 8, 30))
    assert (remote.start_timezone, remote.end_timezone) == ("Europe/Moscow", "Europe/Moscow")
    assert remote.sensitivity is Sensitivity.PRIVATE
    assert remote.body == ItemBody("Agenda: https://video.corp.example/c/77", BodyType.TEXT)
    assert remote.organizer == Person("anna@corp.example", "Anna Adams")
    assert remote.required_attendees == (
        RemoteAttendee("boris@corp.example", "Boris Brown", Response.ACCEPTED, utc(2026, 5, 21, 10)),
    )
    assert remote.resources == (RemoteAttendee("room4@corp.example", "Room 4", Response.ACCEPTED),)
    assert remote.meeting_urls == ("https://video.corp.example/c/77",)
    assert remote.last_modified == utc(2026, 5, 20, 8, 15, 2)
    assert (remote.my_response, remote.is_meeting, remote.is_cancelled) == (Response.ORGANIZER, True, False)


def test_an_organizer_copy_with_every_kind_of_answer() -> None:
    remote = mapped(
        item(
            '<t:Body BodyType="HTML">&lt;b&gt;Agenda&lt;/b&gt;</t:Body>',
            "<t:MyResponseType>Organizer</t:MyResponseType>",
            "<t:Organizer><t:Mailbox><t:Name>Postman</t:Name><t:EmailAddress>postman@corp.example</t:EmailAddress>"
            "</t:Mailbox></t:Organizer>",
            "<t:RequiredAttendees>"
            + attendee("a@corp.example", "A", "Accept", "2026-06-20T09:00:00Z")
            + attendee("b@corp.example", "B", "Unknown")
            + attendee("", "No address", "Accept")
            + "</t:RequiredAttendees>",
            "<t:OptionalAttendees>"
            + attendee("c@corp.example", "C", "Tentative")
            + attendee("d@corp.example", "D", "Decline")
            + "</t:OptionalAttendees>",
        ),
        "postman@corp.example",
    )
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
    room = attendee("Room.1@corp.example", "Room 1", "Accept")
    remote = mapped(item("<t:Sensitivity>Private</t:Sensitivity>", f"<t:Resources>{room}</t:Resources>"))
    assert remote.resources == (RemoteAttendee("room.1@corp.example", "Room 1", Response.ACCEPTED),)
    assert remote.sensitivity is Sensitivity.PRIVATE
    assert mapped(item()).sensitivity is Sensitivity.NORMAL
    assert mapped(item("<t:Sensitivity>Secret</t:Sensitivity>")).sensitivity is Sensitivity.NORMAL


def test_online_meeting_addresses_outside_the_body_are_kept() -> None:
    remote = mapped(item("<t:MeetingWorkspaceUrl/><t:NetShowUrl>https://tcs.corp.example/c/42</t:NetShowUrl>"))
    assert remote.meeting_urls == ("https://tcs.corp.example/c/42",)


def test_an_empty_body_is_empty_text() -> None:
    assert mapped(item('<t:Body BodyType="HTML"/>')).body == ItemBody("")


def test_an_all_day_item_keeps_the_local_dates_of_its_zone() -> None:
    # Midnight in Moscow (UTC+3) on 28 June to midnight on 30 June: two days.
    remote = mapped(
        item(
            "<t:Start>2026-06-27T21:00:00Z</t:Start><t:End>2026-06-29T21:00:00Z</t:End>",
            "<t:IsAllDayEvent>true</t:IsAllDayEvent>",
            zone="Russian Standard Time",
        )
    )
    assert (remote.start, remote.end, remote.is_all_day) == (utc(2026, 6, 28), utc(2026, 6, 30), True)
    assert remote.start_timezone == remote.end_timezone == "Europe/Moscow"


def test_an_all_day_item_without_a_zone_uses_the_mailboxs_zone_else_utc() -> None:
    xml = item(
        "<t:Start>2026-06-27T22:00:00Z</t:Start><t:End>2026-06-28T22:00:00Z</t:End>",
        "<t:IsAllDayEvent>true</t:IsAllDayEvent>",
        zone="",
    )
    berlin = mapped(xml, default_timezone="Europe/Berlin")
    assert (berlin.start, berlin.end, berlin.start_timezone) == (utc(2026, 6, 28), utc(2026, 6, 29), "Europe/Berlin")
    plain = mapped(xml)
    assert (plain.start, plain.end, plain.start_timezone) == (utc(2026, 6, 27), utc(2026, 6, 28), None)


def test_zones_named_by_windows_id_by_iana_name_or_unknown() -> None:
    assert mapped(item(zone="Tokyo Standard Time")).start_timezone == "Asia/Tokyo"
    assert mapped(item(zone="Europe/Copenhagen")).start_timezone == "Europe/Copenhagen"
    assert mapped(item(zone="Middle Earth Time")).start_timezone is None


def test_times_with_an_offset_fractions_or_no_zone_are_read_as_instants() -> None:
    remote = mapped(item("<t:Start>2026-06-28T09:00:00+03:00</t:Start><t:End>2026-06-28T06:30:00.000Z</t:End>"))
    assert (remote.start, remote.end) == (utc(2026, 6, 28, 6), utc(2026, 6, 28, 6, 30))
    naive = mapped(item("<t:Start>2026-06-28T06:00:00</t:Start><t:End>2026-06-28T06:30:00</t:End>"))
    assert (naive.start, naive.end) == (utc(2026, 6, 28, 6), utc(2026, 6, 28, 6, 30))


def test_the_cancellation_prefix_is_stripped_however_often_it_was_added() -> None:
    def subject(text: str, flagged: bool = False) -> bytes:
        return item(f"<t:IsCancelled>{'true' if flagged else 'false'}</t:IsCancelled>").replace(
            b"<t:Subject>Weekly sync</t:Subject>", f"<t:Subject>{text}</t:Subject>".encode()
        )

    remote = mapped(subject("Canceled: Canceled: Board"))
    assert (remote.subject, remote.is_cancelled) == ("Board", True)
    organizer_copy = mapped(subject("Board", flagged=True))
    assert (organizer_copy.subject, organizer_copy.is_cancelled) == ("Board", True)
    assert mapped(subject("Cancel culture talk")).is_cancelled is False
    flagged = mapped(subject("Отменено: Планёрка", flagged=True))
    assert (flagged.subject, flagged.is_cancelled) == ("Планёрка", True)
    title = mapped(subject("Отменено: разбор отмен"))
    assert (title.subject, title.is_cancelled) == ("Отменено: разбор отмен", False)


MASTER = item(
    "<t:Start>2026-06-01T06:00:00Z</t:Start><t:End>2026-06-01T06:30:00Z</t:End>",
    "<t:Recurrence><t:WeeklyRecurrence><t:Interval>2</t:Interval><t:DaysOfWeek>Monday Wednesday</t:DaysOfWeek>"
    "<t:FirstDayOfWeek>Sunday</t:FirstDayOfWeek></t:WeeklyRecurrence>"
    "<t:EndDateRecurrence><t:StartDate>2026-06-01+02:00</t:StartDate><t:EndDate>2026-12-31+01:00</t:EndDate>"
    "</t:EndDateRecurrence></t:Recurrence>",
    "<t:ModifiedOccurrences><t:Occurrence><t:ItemId Id=\"EXC1\" ChangeKey=\"c\"/>"
    "<t:Start>2026-06-16T07:00:00Z</t:Start><t:End>2026-06-16T08:00:00Z</t:End>"
    "<t:OriginalStart>2026-06-15T06:00:00Z</t:OriginalStart></t:Occurrence></t:ModifiedOccurrences>",
    "<t:DeletedOccurrences><t:DeletedOccurrence><t:Start>2026-06-17T06:00:00Z</t:Start></t:DeletedOccurrence>"
    "</t:DeletedOccurrences>",
    kind="RecurringMaster",
)


def test_a_master_carries_its_pattern_and_its_modified_and_deleted_occurrences() -> None:
    remote = mapped(MASTER)
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


def test_a_moved_occurrence_of_an_all_day_series_keeps_whole_days() -> None:
    remote = mapped(
        item(
            "<t:Start>2026-06-14T22:00:00Z</t:Start><t:End>2026-06-15T22:00:00Z</t:End>",
            "<t:IsAllDayEvent>true</t:IsAllDayEvent>",
            "<t:Recurrence><t:DailyRecurrence><t:Interval>7</t:Interval></t:DailyRecurrence>"
            "<t:NoEndRecurrence><t:StartDate>2026-06-15+02:00</t:StartDate></t:NoEndRecurrence></t:Recurrence>",
            "<t:ModifiedOccurrences><t:Occurrence><t:ItemId Id=\"EXC2\" ChangeKey=\"c\"/>"
            "<t:Start>2026-06-22T22:00:00Z</t:Start><t:End>2026-06-23T22:00:00Z</t:End>"
            "<t:OriginalStart>2026-06-21T22:00:00Z</t:OriginalStart></t:Occurrence></t:ModifiedOccurrences>",
            kind="RecurringMaster",
        )
    )
    assert (remote.start, remote.end) == (utc(2026, 6, 15), utc(2026, 6, 16))
    assert remote.modified_occurrences == (
        ModifiedOccurrence(utc(2026, 6, 21, 22), utc(2026, 6, 23), utc(2026, 6, 24), "EXC2"),
    )


def recurrence(pattern: str, boundary: str = "<t:NoEndRecurrence><t:StartDate>2026-01-01Z</t:StartDate>"
               "</t:NoEndRecurrence>") -> etree._Element:  # fmt: skip
    return etree.fromstring(f'<t:Recurrence xmlns:t="{T}">{pattern}{boundary}</t:Recurrence>')


@pytest.mark.parametrize(
    ("pattern", "boundary", "expected"),
    [
        (
            "<t:DailyRecurrence><t:Interval>3</t:Interval></t:DailyRecurrence>",
            None,
            RecurrencePattern(RecurrenceType.DAILY, RecurrenceRange(date(2026, 1, 1)), interval=3),
        ),
        (
            "<t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday Wednesday</t:DaysOfWeek>"
            "</t:WeeklyRecurrence>",
            "<t:NumberedRecurrence><t:StartDate>2026-01-01+03:00</t:StartDate>"
            "<t:NumberOfOccurrences>10</t:NumberOfOccurrences></t:NumberedRecurrence>",
            RecurrencePattern(
                RecurrenceType.WEEKLY,
                RecurrenceRange(date(2026, 1, 1), count=10),
                weekdays=(DayOfWeek.MONDAY, DayOfWeek.WEDNESDAY),
            ),
        ),
        (
            "<t:AbsoluteMonthlyRecurrence><t:Interval>1</t:Interval><t:DayOfMonth>15</t:DayOfMonth>"
            "</t:AbsoluteMonthlyRecurrence>",
            None,
            RecurrencePattern(RecurrenceType.ABSOLUTE_MONTHLY, RecurrenceRange(date(2026, 1, 1)), day_of_month=15),
        ),
        (
            "<t:RelativeMonthlyRecurrence><t:Interval>2</t:Interval><t:DaysOfWeek>Weekday</t:DaysOfWeek>"
            "<t:DayOfWeekIndex>Last</t:DayOfWeekIndex></t:RelativeMonthlyRecurrence>",
            None,
            RecurrencePattern(
                RecurrenceType.RELATIVE_MONTHLY,
                RecurrenceRange(date(2026, 1, 1)),
                interval=2,
                weekdays=(DayOfWeek.WEEKDAY,),
                week_index=WeekIndex.LAST,
            ),
        ),
        (
            "<t:AbsoluteYearlyRecurrence><t:DayOfMonth>29</t:DayOfMonth><t:Month>February</t:Month>"
            "</t:AbsoluteYearlyRecurrence>",
            None,
            RecurrencePattern(
                RecurrenceType.ABSOLUTE_YEARLY, RecurrenceRange(date(2026, 1, 1)), day_of_month=29, month=2
            ),
        ),
        (
            "<t:RelativeYearlyRecurrence><t:DaysOfWeek>Thursday</t:DaysOfWeek>"
            "<t:DayOfWeekIndex>Fourth</t:DayOfWeekIndex><t:Month>November</t:Month></t:RelativeYearlyRecurrence>",
            "<t:EndDateRecurrence><t:StartDate>2026-01-01-05:00</t:StartDate><t:EndDate>2030-12-31-05:00</t:EndDate>"
            "</t:EndDateRecurrence>",
            RecurrencePattern(
                RecurrenceType.RELATIVE_YEARLY,
                RecurrenceRange(date(2026, 1, 1), end_date=date(2030, 12, 31)),
                weekdays=(DayOfWeek.THURSDAY,),
                week_index=WeekIndex.FOURTH,
                month=11,
            ),
        ),
    ],
)
def test_every_ews_pattern_maps_to_the_neutral_pattern(
    pattern: str, boundary: str | None, expected: RecurrencePattern
) -> None:
    elem = recurrence(pattern) if boundary is None else recurrence(pattern, boundary)
    assert recurrence_pattern(elem) == expected


def test_task_regeneration_patterns_and_unknown_names_are_refused() -> None:
    with pytest.raises(ItemMappingError, match="WeeklyRegeneration"):
        recurrence_pattern(recurrence("<t:WeeklyRegeneration><t:Interval>1</t:Interval></t:WeeklyRegeneration>"))
    with pytest.raises(ItemMappingError, match="Someday"):
        recurrence_pattern(recurrence("<t:WeeklyRecurrence><t:DaysOfWeek>Someday</t:DaysOfWeek></t:WeeklyRecurrence>"))
    with pytest.raises(ItemMappingError, match="without a start date"):
        recurrence_pattern(recurrence("<t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence>", ""))


def test_an_item_without_a_start_is_refused_naming_the_mailbox() -> None:
    xml = item("<t:End>2026-06-28T06:30:00Z</t:End>")
    with pytest.raises(ItemMappingError, match=r"a@corp.example: calendar item 'AAMk1'"):
        to_remote_item("A@corp.example", etree.fromstring(xml))


def test_exceptions_of_the_same_series_are_attached_to_the_master() -> None:
    master = mapped(item(kind="RecurringMaster"))
    original = "<t:OriginalStart>2026-06-15T06:00:00Z</t:OriginalStart>"
    exception = mapped(item(original, item_id="EXC1", kind="Exception"))
    stranger = mapped(
        item("<t:RecurrenceId>2026-06-15T06:00:00Z</t:RecurrenceId>", item_id="X", kind="Exception").replace(
            b"uid-1", b"other"
        )
    )
    attached = with_exceptions(master, [exception, stranger])
    assert attached.exceptions == (exception,)
    assert exception.recurrence_id == utc(2026, 6, 15, 6)
    assert attached.start - master.start == timedelta(0)


def test_a_calendar_view_row_has_ids_type_and_instants() -> None:
    elem = etree.fromstring(
        f'<t:CalendarItem xmlns:t="{T}"><t:ItemId Id="OCC1" ChangeKey="DwAAAB"/>'
        "<t:Start>2026-06-15T06:00:00Z</t:Start><t:End>2026-06-15T07:00:00Z</t:End>"
        "<t:CalendarItemType>Occurrence</t:CalendarItemType></t:CalendarItem>"
    )
    assert view_row(elem) == ViewRow("OCC1", "DwAAAB", "Occurrence", utc(2026, 6, 15, 6), utc(2026, 6, 15, 7))
    with pytest.raises(ItemMappingError, match="without an id, start or end"):
        view_row(etree.fromstring(f'<t:CalendarItem xmlns:t="{T}"><t:ItemId Id="X"/></t:CalendarItem>'))


SYNC_CHANGES = f"""<m:Changes xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="{T}">
  <t:Create><t:CalendarItem><t:ItemId Id="NEW1" ChangeKey="DwAAAA1"/></t:CalendarItem></t:Create>
  <t:Update><t:MeetingRequest><t:ItemId Id="UPD1" ChangeKey="CQAAAB2"/></t:MeetingRequest></t:Update>
  <t:Delete><t:ItemId Id="GONE1" ChangeKey="DwAAAA3"/></t:Delete>
  <t:ReadFlagChange><t:ItemId Id="READ1" ChangeKey="DwAAAA4"/><t:IsRead>true</t:IsRead></t:ReadFlagChange>
  <t:Create><t:CalendarItem/></t:Create>
</m:Changes>"""


def test_syncfolderitems_changes_are_read_as_ids_and_change_keys_whatever_the_item_type() -> None:
    changes = [sync_change(elem) for elem in etree.fromstring(SYNC_CHANGES.encode())]
    assert changes == [
        SyncChange("Create", "NEW1", "DwAAAA1"),
        SyncChange("Update", "UPD1", "CQAAAB2"),
        SyncChange("Delete", "GONE1", "DwAAAA3"),
        SyncChange("ReadFlagChange", "READ1", "DwAAAA4"),
        None,
    ]


def test_an_ids_only_item_gives_its_id_and_change_key() -> None:
    master = etree.fromstring(f'<t:CalendarItem xmlns:t="{T}"><t:ItemId Id="M1" ChangeKey="DwAAAA5"/></t:CalendarItem>')
    assert item_ref(master) == ("M1", "DwAAAA5")
    assert item_ref(etree.fromstring(f'<t:CalendarItem xmlns:t="{T}"/>')) is None
