"""Reading calendars: GetFolder, FindItem (CalendarView expansion and paging, IndexedPageItemView paging),
GetItem with calendar properties, occurrences by index and masters by occurrence."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from ews_harness import ALICE, BOB
from exchangelib import Account, CalendarItem, EWSDateTime, EWSTimeZone, ExtendedProperty
from exchangelib.errors import ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange, ErrorItemNotFound
from exchangelib.folders import Calendar

from ews_sim.world import DailyPattern, NumberedRecurrence, Recurrence, World

BERLIN = EWSTimeZone("Europe/Berlin")


def _tomorrow_at(hour: int) -> datetime:
    now = datetime.now(UTC)
    return (now + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)


def _ews(dt: datetime) -> EWSDateTime:
    return EWSDateTime.from_datetime(dt).astimezone(BERLIN)


class TrueConfRoom(ExtendedProperty):
    distinguished_property_set_id = "PublicStrings"
    property_name = "TrueConfRoom"
    property_type = "String"


@pytest.fixture
def room_property() -> Iterator[None]:
    CalendarItem.register("trueconf_room", TrueConfRoom)
    yield
    CalendarItem.deregister("trueconf_room")


def test_get_folder_calendar_root_and_msgfolderroot(ews_account: Callable[..., Account]) -> None:
    account = ews_account(ALICE)
    assert isinstance(account.calendar, Calendar)
    assert account.calendar.name == "Calendar"
    assert account.root.id
    assert account.msg_folder_root.id
    assert account.calendar.parent_folder_id.id == account.msg_folder_root.id


def test_calendar_view_expands_series_and_reports_truncation(
    ews_account: Callable[..., Account], ews_world: World
) -> None:
    start = _tomorrow_at(8)
    ews_world.create_appointment(
        ALICE,
        "Standup",
        start,
        start + timedelta(minutes=15),
        time_zone="Europe/Berlin",
        recurrence=Recurrence(DailyPattern(1), NumberedRecurrence(start.date(), 5)),
    )
    ews_world.create_appointment(ALICE, "Lunch", start + timedelta(hours=4), start + timedelta(hours=5))
    account = ews_account(ALICE)
    window = (_ews(start - timedelta(hours=1)), _ews(start + timedelta(days=10)))
    items = list(account.calendar.view(*window))
    assert [i.subject for i in items] == ["Standup", "Lunch", "Standup", "Standup", "Standup", "Standup"]
    assert {i.type for i in items} == {"Occurrence", "Single"}
    assert all(i.start < j.start for i, j in pairwise(items))

    # MaxEntriesReturned cuts the view; exchangelib (like Outlook) then narrows the window itself.
    first_two = list(account.calendar.view(*window, max_items=2))
    assert [i.subject for i in first_two] == ["Standup", "Lunch"]


def test_calendar_view_root_folder_attributes(ews_server, ews_world: World) -> None:
    from ews_harness import soap_call

    start = _tomorrow_at(9)
    for n in range(3):
        ews_world.create_appointment(ALICE, f"M{n}", start + timedelta(hours=n), start + timedelta(hours=n, minutes=30))
    status, body = soap_call(
        ews_server,
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>'
        f'<m:CalendarView MaxEntriesReturned="2" StartDate="{(start - timedelta(hours=1)).isoformat()}"'
        f' EndDate="{(start + timedelta(days=1)).isoformat()}"/>'
        '<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>',
    )
    text = body.decode()
    assert status == 200
    assert 'TotalItemsInView="3"' in text
    assert 'IncludesLastItemInRange="false"' in text
    assert text.count("<t:CalendarItem>") == 2


def test_find_item_without_view_pages_masters_not_occurrences(
    ews_account: Callable[..., Account], ews_world: World
) -> None:
    start = _tomorrow_at(8)
    ews_world.create_appointment(
        ALICE,
        "Series",
        start,
        start + timedelta(minutes=15),
        recurrence=Recurrence(DailyPattern(1), NumberedRecurrence(start.date(), 10)),
    )
    for n in range(4):
        ews_world.create_appointment(
            ALICE, f"Single {n}", start + timedelta(hours=n + 1), start + timedelta(hours=n + 2)
        )
    account = ews_account(ALICE)
    qs = account.calendar.all()
    qs.page_size = 2  # IndexedPageItemView with MaxEntriesReturned=2, following IndexedPagingOffset
    items = list(qs)
    assert len(items) == 5
    assert sorted(i.type for i in items) == ["RecurringMaster", "Single", "Single", "Single", "Single"]
    counters = ews_world.gate.counters()["FindItem"]
    assert counters["NoError"] >= 3


def test_get_item_returns_the_calendar_properties(
    ews_account: Callable[..., Account], ews_world: World, room_property: None
) -> None:
    start = _tomorrow_at(12)
    organizer = ews_world.create_meeting(
        ALICE,
        "Board",
        start,
        start + timedelta(hours=2),
        required=[BOB],
        optional=[("guest@outside.test", "Guest")],
        body="<p>Agenda</p>",
        location="Berlin",
        time_zone="Europe/Berlin",
        extended_properties={("PublicStrings", "TrueConfRoom", "String"): "room-42"},
    )
    ews_world.respond(BOB, organizer.uid, "Accept")
    account = ews_account(ALICE)
    item = account.calendar.get(id=organizer.item_id)
    assert item.subject == "Board"
    assert item.start == _ews(start) and item.end == _ews(start + timedelta(hours=2))
    assert item.is_all_day is False
    assert item.location == "Berlin"
    assert "Agenda" in item.body
    assert item.organizer.email_address == ALICE
    (bob,) = item.required_attendees
    assert (bob.mailbox.email_address, bob.response_type) == (BOB, "Accept")
    assert bob.last_response_time is not None
    (guest,) = item.optional_attendees
    assert guest.mailbox.email_address == "guest@outside.test"
    assert item.my_response_type == "Organizer"
    assert item.is_cancelled is False
    assert item.type == "Single"
    assert item.uid == organizer.uid
    assert item._start_timezone == BERLIN and item._end_timezone == BERLIN
    assert item.trueconf_room == "room-42"


def test_all_day_items(ews_account: Callable[..., Account], ews_world: World) -> None:
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    created = ews_world.create_appointment(
        ALICE,
        "Holiday",
        datetime(day.year, day.month, day.day),
        datetime(day.year, day.month, day.day) + timedelta(days=1),
        all_day=True,
        time_zone="Europe/Berlin",
    )
    item = ews_account(ALICE).calendar.get(id=created.item_id)
    assert item.is_all_day is True
    # Exchange sends the two local midnights; exchangelib turns them into dates with an inclusive end.
    assert (item.start, item.end) == (day, day)


def test_occurrence_by_index_and_master_by_occurrence(ews_account: Callable[..., Account], ews_world: World) -> None:
    start = _tomorrow_at(7)
    master = ews_world.create_appointment(
        ALICE,
        "Gym",
        start,
        start + timedelta(hours=1),
        time_zone="Europe/Berlin",
        recurrence=Recurrence(DailyPattern(2), NumberedRecurrence(start.date(), 3)),
    )
    account = ews_account(ALICE)
    fetched = account.calendar.get(id=master.item_id)
    assert fetched.type == "RecurringMaster"
    assert fetched.recurrence.boundary.number == 3
    assert fetched.first_occurrence.start == _ews(start)
    assert fetched.last_occurrence.start == _ews(start + timedelta(days=4))

    third = fetched.occurrence(index=3)
    third.refresh()  # GetItem with OccurrenceItemId
    assert third.type == "Occurrence"
    assert third.start == _ews(start + timedelta(days=4))
    back = third.recurring_master()
    back.refresh()  # GetItem with RecurringMasterItemId
    assert back.id == master.item_id

    fourth = fetched.occurrence(index=4)
    with pytest.raises(ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange):
        fourth.refresh()


def test_unknown_item_id(ews_account: Callable[..., Account], ews_world: World) -> None:
    start = _tomorrow_at(7)
    item = ews_world.create_appointment(ALICE, "Gone", start, start + timedelta(hours=1))
    ews_world.delete_item(item.item_id)
    with pytest.raises(ErrorItemNotFound):
        ews_account(ALICE).calendar.get(id=item.item_id)


def test_find_item_restriction_and_sort_order(ews_account: Callable[..., Account], ews_world: World) -> None:
    start = _tomorrow_at(6)
    for n, subject in enumerate(["Weekly sync", "Lunch", "weekly review", "Dentist"]):
        ews_world.create_appointment(ALICE, subject, start + timedelta(hours=n), start + timedelta(hours=n, minutes=30))
    calendar = ews_account(ALICE).calendar
    assert sorted(i.subject for i in calendar.filter(subject__icontains="weekly")) == ["Weekly sync", "weekly review"]
    later = calendar.filter(start__gte=_ews(start + timedelta(hours=2)))
    assert sorted(i.subject for i in later) == ["Dentist", "weekly review"]
    assert [i.subject for i in calendar.all().order_by("-start")] == [
        "Dentist",
        "weekly review",
        "Lunch",
        "Weekly sync",
    ]


def _find_item_xml(shape: str, extra: str = "") -> str:
    return (
        '<m:FindItem Traversal="Shallow"><m:ItemShape>'
        f"<t:BaseShape>{shape}</t:BaseShape>{extra}</m:ItemShape>"
        '<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>'
    )


def _item_children(body: bytes) -> list[str]:
    from lxml import etree

    item = etree.fromstring(body).find(".//{*}CalendarItem")
    assert item is not None
    return [etree.QName(c).localname for c in item]


def test_item_shapes(ews_server, ews_world: World) -> None:
    from ews_harness import soap_call

    start = _tomorrow_at(9)
    ews_world.create_appointment(
        ALICE,
        "Shaped",
        start,
        start + timedelta(hours=1),
        body="Text",
        extended_properties={("PublicStrings", "TrueConfRoom", "String"): "r1"},
    )
    assert _item_children(soap_call(ews_server, _find_item_xml("IdOnly"))[1]) == ["ItemId"]
    default = _item_children(soap_call(ews_server, _find_item_xml("Default"))[1])
    assert {"ItemId", "Subject", "Start", "End", "CalendarItemType"} <= set(default)
    assert "Body" not in default
    everything = _item_children(soap_call(ews_server, _find_item_xml("AllProperties"))[1])
    assert {"Body", "UID", "MyResponseType", "StartTimeZone", "EndTimeZone"} <= set(everything)
    assert "ExtendedProperty" not in everything  # only when asked for by ExtendedFieldURI, as in Exchange
    asked = _item_children(
        soap_call(
            ews_server,
            _find_item_xml(
                "IdOnly",
                '<t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/>'
                '<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="TrueConfRoom"'
                ' PropertyType="String"/></t:AdditionalProperties>',
            ),
        )[1]
    )
    assert asked == ["ItemId", "Subject", "ExtendedProperty"]


def test_request_server_version_decides_the_time_zone_elements(ews_server, ews_world: World) -> None:
    from ews_harness import soap_call

    start = _tomorrow_at(9)
    ews_world.create_appointment(ALICE, "Zoned", start, start + timedelta(hours=1), time_zone="Europe/Berlin")
    request = _find_item_xml("AllProperties")
    assert {"StartTimeZone", "EndTimeZone"} <= set(_item_children(soap_call(ews_server, request)[1]))
    status, body = soap_call(ews_server, request, version="Exchange2007_SP1")
    assert status == 200
    names = _item_children(body)
    assert "MeetingTimeZone" in names and "StartTimeZone" not in names
    assert b'TimeZoneName="W. Europe Standard Time"' in body


def test_resolve_names(ews_account: Callable[..., Account], ews_world: World) -> None:
    from exchangelib.errors import ErrorNameResolutionNoResults

    ews_world.add_mailbox("bea@example.com", "Bea Brown", "Europe/Berlin")
    protocol = ews_account(ALICE).protocol
    (alice,) = protocol.resolve_names(["alice@example.com"])
    assert (alice.email_address, alice.name) == (ALICE, "Alice Archer")
    (by_surname,) = protocol.resolve_names(["archer"])
    assert by_surname.email_address == ALICE
    several = protocol.resolve_names(["b"])  # Warning ErrorNameResolutionMultipleResults, with every candidate
    assert {m.email_address for m in several} == {BOB, "bea@example.com"}
    assert isinstance(protocol.resolve_names(["nobody-here"])[0], ErrorNameResolutionNoResults)


def test_find_folder_lists_the_mailbox_folders(ews_account: Callable[..., Account]) -> None:
    account = ews_account(ALICE)
    names = {f.name for f in account.root.walk()}
    assert {"Calendar", "Inbox"} <= names
    assert "Calendar" in {f.name for f in account.msg_folder_root.children}


def test_unimplemented_operations_are_refused_clearly(ews_server) -> None:
    from ews_harness import soap_call

    status, body = soap_call(ews_server, "<m:GetServerTimeZones/>")
    assert status == 500
    assert b"a:ErrorInvalidOperation" in body


def test_extended_property_created_set_and_deleted(
    ews_account: Callable[..., Account], ews_world: World, room_property: None
) -> None:
    account = ews_account(ALICE)
    start = _ews(_tomorrow_at(10))
    item = CalendarItem(
        account=account, folder=account.calendar, subject="Tagged", start=start, end=start + timedelta(hours=1)
    )
    item.trueconf_room = "first"
    item.save()
    assert account.calendar.get(id=item.id).trueconf_room == "first"
    item = account.calendar.get(id=item.id)
    item.trueconf_room = "second"
    item.save(update_fields=["trueconf_room"])  # SetItemField with an ExtendedFieldURI
    assert account.calendar.get(id=item.id).trueconf_room == "second"
    item = account.calendar.get(id=item.id)
    item.trueconf_room = None
    item.save(update_fields=["trueconf_room"])  # DeleteItemField
    assert account.calendar.get(id=item.id).trueconf_room is None
    (stored,) = [i for i in ews_world.find_items(ALICE) if i.subject == "Tagged"]
    assert stored.extended_properties == {}


def test_body_types_and_text_body(ews_account: Callable[..., Account], ews_world: World, ews_server) -> None:
    from ews_harness import soap_call
    from exchangelib import HTMLBody

    start = _tomorrow_at(11)
    item = ews_world.create_appointment(
        ALICE,
        "Rich",
        start,
        start + timedelta(hours=1),
        body="<html><body><p>Join: <a href='https://tcs.example.com/c/42'>https://tcs.example.com/c/42</a></p>"
        "<p>Agenda &amp; notes</p></body></html>",
        body_type="HTML",
    )
    fetched = ews_account(ALICE).calendar.get(id=item.item_id)
    assert isinstance(fetched.body, HTMLBody)
    assert fetched.text_body == "Join: https://tcs.example.com/c/42\n\nAgenda & notes"

    def body_as(kind: str) -> bytes:
        return soap_call(
            ews_server,
            f"<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:BodyType>{kind}</t:BodyType>"
            '<t:AdditionalProperties><t:FieldURI FieldURI="item:Body"/></t:AdditionalProperties></m:ItemShape>'
            f'<m:ItemIds><t:ItemId Id="{item.item_id}"/></m:ItemIds></m:GetItem>',
        )[1]

    assert b'BodyType="Text"' in body_as("Text") and b"Agenda &amp; notes</t:Body>" in body_as("Text")
    assert b'BodyType="HTML"' in body_as("Best")


def test_calendar_view_longer_than_two_years_is_refused(ews_account: Callable[..., Account]) -> None:
    from exchangelib.errors import ErrorCalendarViewRangeTooBig

    calendar = ews_account(ALICE).calendar
    start = _ews(_tomorrow_at(0))
    assert list(calendar.view(start=start, end=start + timedelta(days=732))) == []
    with pytest.raises(ErrorCalendarViewRangeTooBig):
        list(calendar.view(start=start, end=start + timedelta(days=733)))
