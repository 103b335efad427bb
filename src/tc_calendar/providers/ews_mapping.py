"""Pure mapping from EWS calendar item XML (``t:CalendarItem``) to provider-neutral :class:`RemoteItem` records.

No network here: the EWS adapter sends GetItem and FindItem through exchangelib (authentication, impersonation,
error answers, throttling) and hands the ``t:CalendarItem`` elements of the answer to :func:`to_remote_item` and
:func:`view_row`; :func:`calendar_items` does the same from bytes. Reading the XML directly, instead of through
exchangelib's objects, costs a fraction of the CPU (exchangelib builds an object per element and parses every time
with ``strptime``); the records are the same. Exchange quirks handled here:

* All-day items: EWS sends midnight in the item's time zone (``StartTimeZone``, ``EndTimeZone``) as UTC instants.
  The record gets midnight UTC of the local dates, end exclusive: the start's local date, and the day after the
  local date of one day before the end (an end that is not midnight still ends on its own day).
* Time zones come as Windows ids (``W. Europe Standard Time``), sometimes as IANA names; both become IANA names.
  An item without a known zone uses ``default_timezone``, else UTC.
* An attendee's copy of a cancelled meeting has its subject prefixed with "Canceled: " by Exchange; the prefix is
  stripped into ``is_cancelled`` so that it is never shown twice.
* "Unknown" and "NoResponseReceived" both mean that no answer is known.
* Times without a zone (Exchange sends ``Z``; a naive time is possible with a TimeZoneContext) are UTC, the zone
  the adapter names in every request.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exchangelib.winzone import IANA_TO_MS_TIMEZONE_MAP, MS_TIMEZONE_TO_IANA_MAP
from lxml import etree

from tc_calendar.addresses import MailboxAddress
from tc_calendar.model import Response, Sensitivity
from tc_calendar.providers.base import ProviderError
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
    WeekIndex,
)
from tc_calendar.sync.recurrence import zone

TYPES_NS = "http://schemas.microsoft.com/exchange/services/2006/types"
_T = f"{{{TYPES_NS}}}"

CANCELLED_PREFIXES = ("Canceled: ", "Cancelled: ")
"""Subject prefixes Exchange puts on attendee copies of cancelled meetings (English); always a cancellation."""

LOCALIZED_CANCELLED_PREFIXES = ("Отменено: ", "Отменена: ", "Abgesagt: ", "Annulé : ", "Annulé: ", "Cancelado: ")
"""The same prefix in other languages of the organizer's Outlook; stripped only from items Exchange flags
cancelled, since a title may well start with such a word."""

FETCH_FIELD_URIS: tuple[str, ...] = (
    "item:Subject",
    "item:Body",
    "item:Sensitivity",
    "item:LastModifiedTime",
    "calendar:UID",
    "calendar:CalendarItemType",
    "calendar:Start",
    "calendar:End",
    "calendar:IsAllDayEvent",
    "calendar:StartTimeZone",
    "calendar:EndTimeZone",
    "calendar:Location",
    "calendar:Organizer",
    "calendar:RequiredAttendees",
    "calendar:OptionalAttendees",
    "calendar:Resources",
    "calendar:MyResponseType",
    "calendar:IsMeeting",
    "calendar:IsCancelled",
    "calendar:RecurrenceId",
    "calendar:OriginalStart",
    "calendar:Recurrence",
    "calendar:ModifiedOccurrences",
    "calendar:DeletedOccurrences",
    "calendar:MeetingWorkspaceUrl",
    "calendar:NetShowUrl",
)
"""The properties :func:`to_remote_item` reads (GetItem's ``AdditionalProperties`` with the IdOnly shape). The
time zones are required: they turn an all-day item's instants into the right local dates."""

VIEW_FIELD_URIS: tuple[str, ...] = ("calendar:CalendarItemType", "calendar:Start", "calendar:End")
"""What a CalendarView asks for besides ids: enough to tell a single from an occurrence and where it lies (not the
time zones: a full definition per item that :func:`view_row` never needs)."""

_KINDS = {
    "Single": ItemKind.SINGLE,
    "Occurrence": ItemKind.OCCURRENCE,
    "Exception": ItemKind.EXCEPTION,
    "RecurringMaster": ItemKind.MASTER,
}
_RESPONSES = {
    "Organizer": Response.ORGANIZER,
    "Accept": Response.ACCEPTED,
    "Tentative": Response.TENTATIVE,
    "Decline": Response.DECLINED,
    "Unknown": Response.NO_RESPONSE,
    "NoResponseReceived": Response.NO_RESPONSE,
}
_SENSITIVITIES = {s.value: s for s in Sensitivity}
_DAYS = {d.value: d for d in DayOfWeek}
_WEEKS = {w.value: w for w in WeekIndex}
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("January", "February", "March", "April", "May", "June",
         "July", "August", "September", "October", "November", "December"),
        start=1,
    )
}  # fmt: skip
_PATTERNS = {
    f"{_T}DailyRecurrence": RecurrenceType.DAILY,
    f"{_T}WeeklyRecurrence": RecurrenceType.WEEKLY,
    f"{_T}AbsoluteMonthlyRecurrence": RecurrenceType.ABSOLUTE_MONTHLY,
    f"{_T}RelativeMonthlyRecurrence": RecurrenceType.RELATIVE_MONTHLY,
    f"{_T}AbsoluteYearlyRecurrence": RecurrenceType.ABSOLUTE_YEARLY,
    f"{_T}RelativeYearlyRecurrence": RecurrenceType.RELATIVE_YEARLY,
}
_REGENERATIONS = frozenset(
    f"{_T}{name}Regeneration" for name in ("Daily", "Weekly", "Monthly", "Yearly")
)  # task patterns: never on calendar items
_RANGES = frozenset(f"{_T}{name}Recurrence" for name in ("NoEnd", "EndDate", "Numbered"))
_TRUE = frozenset({"true", "on", "1"})

# Element names, in Clark notation, of what we read.
_ITEM_ID = f"{_T}ItemId"
_SUBJECT = f"{_T}Subject"
_BODY = f"{_T}Body"
_SENSITIVITY = f"{_T}Sensitivity"
_LAST_MODIFIED = f"{_T}LastModifiedTime"
_UID = f"{_T}UID"
_TYPE = f"{_T}CalendarItemType"
_START = f"{_T}Start"
_END = f"{_T}End"
_ALL_DAY = f"{_T}IsAllDayEvent"
_START_TZ = f"{_T}StartTimeZone"
_END_TZ = f"{_T}EndTimeZone"
_LOCATION = f"{_T}Location"
_ORGANIZER = f"{_T}Organizer"
_REQUIRED = f"{_T}RequiredAttendees"
_OPTIONAL = f"{_T}OptionalAttendees"
_RESOURCES = f"{_T}Resources"
_MY_RESPONSE = f"{_T}MyResponseType"
_IS_MEETING = f"{_T}IsMeeting"
_IS_CANCELLED = f"{_T}IsCancelled"
_RECURRENCE_ID = f"{_T}RecurrenceId"
_ORIGINAL_START = f"{_T}OriginalStart"
_RECURRENCE = f"{_T}Recurrence"
_MODIFIED = f"{_T}ModifiedOccurrences"
_DELETED = f"{_T}DeletedOccurrences"
_MEETING_URLS = (f"{_T}MeetingWorkspaceUrl", f"{_T}NetShowUrl")
_MAILBOX = f"{_T}Mailbox"
_NAME = f"{_T}Name"
_EMAIL = f"{_T}EmailAddress"
_ATTENDEE = f"{_T}Attendee"
_RESPONSE_TYPE = f"{_T}ResponseType"
_LAST_RESPONSE = f"{_T}LastResponseTime"
_CALENDAR_ITEM = f"{_T}CalendarItem"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


class ItemMappingError(ProviderError):
    """An item lacks data every calendar item has (an id, a start); it is skipped, the rest of the sync goes on."""


class ViewRow(NamedTuple):
    """One item a CalendarView lists: enough to decide whether to fetch it and how."""

    item_id: str
    changekey: str
    kind: str
    """EWS CalendarItemType: Single, Occurrence, Exception or RecurringMaster."""
    start: datetime
    end: datetime


# --------------------------------------------------------------------------------------------------- values


def _text(elem: Any) -> str | None:
    """An element's text, ``None`` when the element is absent or empty."""
    if elem is None:
        return None
    return elem.text or None


def _flag(elem: Any) -> bool:
    text = _text(elem)
    return text is not None and text.strip().lower() in _TRUE


def parse_datetime(text: str) -> datetime:
    """An ``xs:dateTime`` as an aware UTC datetime; naive means UTC (the zone the adapter asks Exchange for)."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _instant(elem: Any) -> datetime | None:
    text = _text(elem)
    if text is None:
        return None
    try:
        return parse_datetime(text)
    except ValueError:
        return None


def _date(text: str) -> date:
    """An ``xs:date`` as Exchange writes recurrence ranges (``2026-06-01Z``, ``2026-06-01+03:00``): its day."""
    return date.fromisoformat(text.strip()[:10])


def _midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _local_date(value: datetime, tz: tzinfo) -> date:
    return value.astimezone(tz).date()


@lru_cache(maxsize=512)
def zone_name(ms_id: str) -> str | None:
    """The IANA name of a Windows time zone id (or of an IANA name Exchange sent as it is); ``None`` if unknown."""
    name = MS_TIMEZONE_TO_IANA_MAP.get(ms_id) or (ms_id if "/" in ms_id else None)
    if name is None or name not in IANA_TO_MS_TIMEZONE_MAP:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def _zone_of(elem: Any) -> str | None:
    if elem is None:
        return None
    ms_id = elem.get("Id") or elem.get("Name")
    return zone_name(ms_id) if ms_id else None


def response(value: str | None) -> Response:
    """An EWS ResponseType as the user-visible answer."""
    return _RESPONSES.get(value or "Unknown", Response.NO_RESPONSE)


def sensitivity(value: str | None) -> Sensitivity:
    """EWS Sensitivity (Normal, Personal, Private, Confidential); Normal when absent or unknown."""
    return _SENSITIVITIES.get(value or "", Sensitivity.NORMAL)


def strip_cancelled_prefix(subject: str, *, flagged_cancelled: bool = False) -> tuple[str, bool]:
    """The subject without Exchange's cancellation prefixes, and whether there was one."""
    found = False
    prefixes = CANCELLED_PREFIXES + (LOCALIZED_CANCELLED_PREFIXES if flagged_cancelled else ())
    while True:
        for prefix in prefixes:
            if subject.startswith(prefix):
                subject = subject[len(prefix) :]
                found = True
                break
        else:
            return subject, found


def _children(elem: Any) -> dict[str, Any]:
    """An element's children by tag (the last one of a tag wins). One pass over the children: lxml's ``find``
    parses its path on every call, which costs more than the walk for the few children EWS elements have."""
    return {child.tag: child for child in elem}


def _mailbox(elem: Any) -> tuple[MailboxAddress, str]:
    """(address in its one form, display name) of a ``t:Mailbox``."""
    fields = _children(elem)
    return MailboxAddress(_text(fields.get(_EMAIL)) or ""), _text(fields.get(_NAME)) or ""


def _person(elem: Any) -> Person | None:
    mailbox = None if elem is None else _children(elem).get(_MAILBOX)
    if mailbox is None:
        return None
    return Person(*_mailbox(mailbox))


def _attendees(elem: Any) -> tuple[RemoteAttendee, ...]:
    if elem is None:
        return ()
    out = []
    for attendee in elem:
        if attendee.tag != _ATTENDEE:
            continue
        fields = _children(attendee)
        mailbox = fields.get(_MAILBOX)
        if mailbox is None:
            continue
        email, name = _mailbox(mailbox)
        if not email:
            continue
        out.append(
            RemoteAttendee(
                email=email,
                name=name,
                response=response(_text(fields.get(_RESPONSE_TYPE))),
                last_response_time=_instant(fields.get(_LAST_RESPONSE)),
            )
        )
    return tuple(out)


def _body(elem: Any) -> ItemBody:
    text = _text(elem)
    if text is None:
        return ItemBody("")
    return ItemBody(text, BodyType.HTML if elem.get("BodyType") == "HTML" else BodyType.TEXT)


# --------------------------------------------------------------------------------------------------- recurrence


def _enum(text: str | None, names: dict[str, Any], what: str) -> Any:
    found = names.get((text or "").strip())
    if found is None:
        raise ItemMappingError(f"unknown {what} {text!r} in a recurrence pattern")
    return found


def _range(elem: Any) -> RecurrenceRange:
    start = _text(elem.find(f"{_T}StartDate")) if elem is not None else None
    if start is None:
        raise ItemMappingError("a recurrence without a start date")
    end = _text(elem.find(f"{_T}EndDate"))
    number = _text(elem.find(f"{_T}NumberOfOccurrences"))
    return RecurrenceRange(
        start_date=_date(start),
        end_date=_date(end) if end is not None else None,
        count=int(number) if number is not None else None,
    )


def recurrence_pattern(elem: Any) -> RecurrencePattern | None:
    """A ``t:Recurrence`` (pattern + range) as a neutral pattern; ``None`` when there is none.

    Task regeneration patterns never occur on calendar items and are refused.
    """
    if elem is None:
        return None
    pattern = boundary = None
    kind: RecurrenceType | None = None
    for child in elem:
        if child.tag in _PATTERNS:
            pattern, kind = child, _PATTERNS[child.tag]
        elif child.tag in _RANGES:
            boundary = child
        elif child.tag in _REGENERATIONS:
            raise ItemMappingError(f"unsupported recurrence pattern {etree.QName(child).localname}")
    if pattern is None or kind is None:
        return None
    fields = {etree.QName(child).localname: _text(child) for child in pattern}
    days = (fields.get("DaysOfWeek") or "").split()
    week_index = fields.get("DayOfWeekIndex")
    month = fields.get("Month")
    day_of_month = fields.get("DayOfMonth")
    return RecurrencePattern(
        type=kind,
        range=_range(boundary),
        interval=int(fields.get("Interval") or 1),
        weekdays=tuple(_enum(day, _DAYS, "weekday") for day in days),
        day_of_month=int(day_of_month) if day_of_month is not None else None,
        week_index=_enum(week_index, _WEEKS, "week index") if week_index is not None else None,
        month=_enum(month, _MONTHS, "month") if month is not None else None,
        first_day_of_week=_enum(fields.get("FirstDayOfWeek") or "Monday", _DAYS, "first day of week"),
    )


# --------------------------------------------------------------------------------------------------- items


def to_remote_item(mailbox: str, elem: Any, *, default_timezone: str | None = None) -> RemoteItem:
    """One ``t:CalendarItem`` read from ``mailbox`` as a :class:`RemoteItem`.

    ``default_timezone`` (the mailbox's zone) is used when the item names none, for all-day dates.
    """
    mailbox = MailboxAddress(mailbox)
    fields = _children(elem)
    id_elem = fields.get(_ITEM_ID)
    item_id = id_elem.get("Id") if id_elem is not None else None
    start, end = _instant(fields.get(_START)), _instant(fields.get(_END))
    if not item_id or start is None or end is None:
        raise ItemMappingError(f"calendar item {item_id!r} has no id, start or end; skipped", mailbox=mailbox)
    start_tz_name = _zone_of(fields.get(_START_TZ)) or default_timezone
    end_tz_name = _zone_of(fields.get(_END_TZ)) or start_tz_name
    start_tz, end_tz = zone(start_tz_name), zone(end_tz_name)
    all_day = _flag(fields.get(_ALL_DAY))

    if all_day:
        first = _local_date(start, start_tz)
        after_last = max(_local_date(end - timedelta(days=1), end_tz) + timedelta(days=1), first + timedelta(days=1))
        start_at, end_at = _midnight_utc(first), _midnight_utc(after_last)
    else:
        start_at, end_at = start, end

    flagged = _flag(fields.get(_IS_CANCELLED))
    subject, prefixed = strip_cancelled_prefix(_text(fields.get(_SUBJECT)) or "", flagged_cancelled=flagged)
    kind = _KINDS.get(_text(fields.get(_TYPE)) or "Single", ItemKind.SINGLE)
    recurrence_id = None
    if kind not in (ItemKind.SINGLE, ItemKind.MASTER):
        recurrence_id = _instant(fields.get(_RECURRENCE_ID)) or _instant(fields.get(_ORIGINAL_START))

    def placed(value: datetime) -> datetime:
        """A moved occurrence of an all-day series keeps the all-day convention."""
        return _midnight_utc(_local_date(value, start_tz)) if all_day else value

    return RemoteItem(
        mailbox=mailbox,
        item_id=item_id,
        uid=_text(fields.get(_UID)) or "",
        kind=kind,
        subject=subject,
        start=start_at,
        end=end_at,
        body=_body(fields.get(_BODY)),
        is_all_day=all_day,
        start_timezone=start_tz_name,
        end_timezone=end_tz_name,
        location=_text(fields.get(_LOCATION)) or "",
        meeting_urls=tuple(url for url in (_text(fields.get(tag)) for tag in _MEETING_URLS) if url),
        organizer=_person(fields.get(_ORGANIZER)),
        required_attendees=_attendees(fields.get(_REQUIRED)),
        optional_attendees=_attendees(fields.get(_OPTIONAL)),
        resources=_attendees(fields.get(_RESOURCES)),
        sensitivity=sensitivity(_text(fields.get(_SENSITIVITY))),
        my_response=response(_text(fields.get(_MY_RESPONSE))),
        is_cancelled=flagged or prefixed,
        is_meeting=_flag(fields.get(_IS_MEETING)),
        recurrence_id=recurrence_id,
        recurrence=recurrence_pattern(fields.get(_RECURRENCE)),
        modified_occurrences=tuple(_modified(fields.get(_MODIFIED), placed)),
        deleted_occurrences=tuple(_deleted(fields.get(_DELETED))),
        last_modified=_instant(fields.get(_LAST_MODIFIED)),
    )


def _modified(elem: Any, placed: Any) -> Iterator[ModifiedOccurrence]:
    if elem is None:
        return
    for occurrence in elem:
        original = _instant(occurrence.find(_ORIGINAL_START))
        start, end = _instant(occurrence.find(_START)), _instant(occurrence.find(_END))
        if original is None or start is None or end is None:
            continue
        id_elem = occurrence.find(_ITEM_ID)
        yield ModifiedOccurrence(
            original_start=original,
            start=placed(start),
            end=placed(end),
            item_id=(id_elem.get("Id") or None) if id_elem is not None else None,
        )


def _deleted(elem: Any) -> Iterator[datetime]:
    if elem is None:
        return
    for occurrence in elem:
        start = _instant(occurrence.find(_START))
        if start is not None:
            yield start


def view_row(elem: Any) -> ViewRow:
    """One ``t:CalendarItem`` of a CalendarView answer (ids, type, start, end) as a :class:`ViewRow`."""
    fields = _children(elem)
    id_elem = fields.get(_ITEM_ID)
    start, end = _instant(fields.get(_START)), _instant(fields.get(_END))
    if id_elem is None or not id_elem.get("Id") or start is None or end is None:
        raise ItemMappingError(f"a calendar view lists an item without an id, start or end: {etree.tostring(elem)!r}")
    return ViewRow(id_elem.get("Id"), id_elem.get("ChangeKey") or "", _text(fields.get(_TYPE)) or "Single", start, end)


class SyncChange(NamedTuple):
    """One change of a SyncFolderItems answer (IdOnly shape)."""

    kind: str
    """``Create``, ``Update``, ``Delete`` or ``ReadFlagChange``, as the element is named."""
    item_id: str
    changekey: str | None


def sync_change(elem: Any) -> SyncChange | None:
    """A ``t:Create``, ``t:Update``, ``t:Delete`` or ``t:ReadFlagChange`` of ``m:Changes``; ``None`` without an id.

    A created or updated item comes whole (``t:CalendarItem``, or another item type the folder holds); a deleted
    one as its ``t:ItemId``.
    """
    ref = item_ref(elem)
    if ref is None and len(elem):
        ref = item_ref(elem[0])
    if ref is None:
        return None
    return SyncChange(etree.QName(elem).localname, *ref)


def item_ref(elem: Any) -> tuple[str, str | None] | None:
    """(Id, ChangeKey) of the ``t:ItemId`` of an item element (or of a change); ``None`` when it has none."""
    id_elem = elem.find(_ITEM_ID)
    if id_elem is None or not id_elem.get("Id"):
        return None
    return id_elem.get("Id"), id_elem.get("ChangeKey")


def calendar_items(xml: bytes, mailbox: str, *, default_timezone: str | None = None) -> list[RemoteItem]:
    """Every ``t:CalendarItem`` in an EWS document (a whole GetItem answer, or one item) as records, in order.

    Per-item errors of an answer are the caller's: the adapter lets exchangelib read the response messages.
    """
    root = etree.fromstring(xml, _PARSER)
    found = [root] if root.tag == _CALENDAR_ITEM else root.iter(_CALENDAR_ITEM)
    return [to_remote_item(mailbox, elem, default_timezone=default_timezone) for elem in found]


def with_exceptions(master: RemoteItem, exceptions: Iterable[RemoteItem]) -> RemoteItem:
    """The master with its modified occurrences' full items attached (those of its series, by recurrence id)."""
    own = tuple(
        e
        for e in exceptions
        if e.uid == master.uid and e.recurrence_id is not None and e.kind in (ItemKind.EXCEPTION, ItemKind.OCCURRENCE)
    )
    return replace(master, exceptions=own)
