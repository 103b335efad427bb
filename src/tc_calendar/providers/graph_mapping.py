"""Pure mapping from Microsoft Graph event JSON to provider-neutral :class:`~tc_calendar.records.RemoteItem` records.

No network here: the Graph provider reads events (always with ``Prefer: outlook.timezone="UTC"``) and hands the
JSON objects to :func:`to_remote_item`. What Graph sends, and what the records make of it:

* ``type`` singleInstance / occurrence / exception / seriesMaster is the item's kind; calendarView and its delta
  report the instances of a series (occurrences and exceptions, each with its ``seriesMasterId`` and
  ``originalStart``), never the master. Each instance is filed under its own id, because a delta round reports
  the removal of an instance (or of every instance of a deleted series) by the instance's id.
* ``iCalUId`` is the UID shared by the organizer's and the attendees' copies. For an instance of a series it is
  Outlook's Global Object ID *with the instance's date* in bytes 16..19; zeroed, it is the series' UID, the one
  EWS reports, so an occurrence gets the same identity (series UID, original start) through both protocols.
* ``start``/``end`` are local to the ``Prefer`` zone (UTC); an all-day event keeps its dates as midnight of
  those dates (whatever the zone), which the records keep as midnight UTC, end exclusive.
* ``isCancelled`` and the "Canceled: " prefix Exchange puts on attendee copies of a cancelled meeting become
  ``is_cancelled``; the prefix is stripped so it is never shown twice.
* ``responseStatus.response`` is the mailbox's own answer; ``organizer`` is the calendar owner for a meeting a
  delegate scheduled (Exchange records the owner), as in EWS.
* ``onlineMeeting.joinUrl`` and ``onlineMeetingUrl`` are online-meeting addresses outside the body, like EWS's
  MeetingWorkspaceUrl: the link rules look at them after the location.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exchangelib.winzone import MS_TIMEZONE_TO_IANA_MAP

from tc_calendar.addresses import MailboxAddress
from tc_calendar.model import Response, Sensitivity
from tc_calendar.providers.base import ProviderError
from tc_calendar.providers.ews_mapping import strip_cancelled_prefix
from tc_calendar.records import (
    BodyType,
    DayOfWeek,
    ItemBody,
    ItemKind,
    Person,
    RecurrencePattern,
    RecurrenceRange,
    RecurrenceType,
    RemoteAttendee,
    RemoteItem,
    WeekIndex,
)

JsonObject = Mapping[str, Any]

SELECT_FIELDS: tuple[str, ...] = (
    "id",
    "iCalUId",
    "type",
    "seriesMasterId",
    "originalStart",
    "subject",
    "body",
    "start",
    "end",
    "isAllDay",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "location",
    "organizer",
    "isOrganizer",
    "attendees",
    "responseStatus",
    "isCancelled",
    "sensitivity",
    "onlineMeeting",
    "onlineMeetingUrl",
    "lastModifiedDateTime",
    "recurrence",
)
"""The event properties :func:`to_remote_item` reads (``$select`` of calendarView, events and instances reads)."""

_KINDS = {
    "singleInstance": ItemKind.SINGLE,
    "occurrence": ItemKind.OCCURRENCE,
    "exception": ItemKind.EXCEPTION,
    "seriesMaster": ItemKind.MASTER,
}
_RESPONSES = {
    "organizer": Response.ORGANIZER,
    "accepted": Response.ACCEPTED,
    "tentativelyAccepted": Response.TENTATIVE,
    "declined": Response.DECLINED,
    "none": Response.NO_RESPONSE,
    "notResponded": Response.NO_RESPONSE,
}
_PATTERNS = {
    "daily": RecurrenceType.DAILY,
    "weekly": RecurrenceType.WEEKLY,
    "absoluteMonthly": RecurrenceType.ABSOLUTE_MONTHLY,
    "relativeMonthly": RecurrenceType.RELATIVE_MONTHLY,
    "absoluteYearly": RecurrenceType.ABSOLUTE_YEARLY,
    "relativeYearly": RecurrenceType.RELATIVE_YEARLY,
}
_DAYS = {day.value.lower(): day for day in DayOfWeek}
_WEEKS = {week.value.lower(): week for week in WeekIndex}


class GraphMappingError(ProviderError):
    """An event lacks data every event has (an id, a start); it is skipped, the rest of the sync goes on."""


# --------------------------------------------------------------------------------------------------- values


def parse_instant(value: str) -> datetime:
    """A Graph DateTimeOffset (``2026-12-04T10:00:00Z``, up to 7 fraction digits) in UTC."""
    text = value.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    parsed = datetime.fromisoformat(text)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _date_time(value: JsonObject | None, what: str) -> datetime:
    """A Graph dateTimeTimeZone: local ``dateTime`` in ``timeZone`` (UTC, as the provider asks with Prefer)."""
    if not value or not value.get("dateTime"):
        raise GraphMappingError(f"an event without {what}")
    local = parse_instant(str(value["dateTime"])).replace(tzinfo=None)
    zone = iana_zone(str(value.get("timeZone") or "UTC")) or "UTC"
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _day(value: datetime) -> date:
    """The date an all-day boundary stands for. Graph keeps all-day events at midnight of their dates; should an
    instant arrive shifted into UTC from the event's zone, the nearest midnight is that date (zones within 12 h)."""
    return (value + timedelta(hours=12)).date() if value.time() != time(0) else value.date()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def iana_zone(name: str | None) -> str | None:
    """An IANA zone name for a Graph time zone, which may be IANA or Windows ("W. Europe Standard Time")."""
    if not name:
        return None
    try:
        ZoneInfo(name)
        return name
    except (ZoneInfoNotFoundError, ValueError):
        found = MS_TIMEZONE_TO_IANA_MAP.get(name)
        return str(found) if found else None


_OUTLOOK_GOID_CLASS = "040000008200E00074C5B7101A82E008"
"""The class id that starts every Outlook Global Object ID (MS-OXOCAL 2.2.1.27), in hex."""


def series_uid(ical_uid: str) -> str:
    """The series' UID of an instance's ``iCalUId``: its Global Object ID with the instance date (YH YL M D after
    the 16-byte class id) zeroed; other UIDs are returned as they are."""
    if len(ical_uid) >= 40 and ical_uid[:32].upper() == _OUTLOOK_GOID_CLASS:
        return f"{ical_uid[:32]}00000000{ical_uid[40:]}"
    return ical_uid


def _email(value: JsonObject | None) -> str:
    address = (value or {}).get("emailAddress") or {}
    return MailboxAddress(str(address.get("address") or ""))


def _person(value: JsonObject | None) -> Person | None:
    email = _email(value)
    if not email:
        return None
    return Person(email, str(((value or {}).get("emailAddress") or {}).get("name") or ""))


def response(value: JsonObject | None) -> Response:
    """A Graph responseStatus as the user-visible answer ("none" and "notResponded" mean no answer is known)."""
    return _RESPONSES.get(str((value or {}).get("response") or "none"), Response.NO_RESPONSE)


def _response_time(value: JsonObject | None) -> datetime | None:
    when = (value or {}).get("time")
    if not when:
        return None
    instant = parse_instant(str(when))
    return None if instant.year <= 1 else instant  # Graph's "0001-01-01T00:00:00Z" means never


_SENSITIVITIES = {
    "normal": Sensitivity.NORMAL,
    "personal": Sensitivity.PERSONAL,
    "private": Sensitivity.PRIVATE,
    "confidential": Sensitivity.CONFIDENTIAL,
}
"""Graph's sensitivity values, lower camel case, for Exchange's Sensitivity."""


def _attendees(values: Any, kind: str) -> tuple[RemoteAttendee, ...]:
    out = []
    for attendee in values or ():
        if str(attendee.get("type") or "required") != kind:
            continue
        email = _email(attendee)
        if not email:
            continue
        status = attendee.get("status")
        out.append(
            RemoteAttendee(
                email=email,
                name=str((attendee.get("emailAddress") or {}).get("name") or ""),
                response=response(status),
                last_response_time=_response_time(status),
            )
        )
    return tuple(out)


def _body(value: JsonObject | None) -> ItemBody:
    if not value or not value.get("content"):
        return ItemBody("")
    kind = BodyType.HTML if str(value.get("contentType") or "text").lower() == "html" else BodyType.TEXT
    return ItemBody(str(value["content"]), kind)


def _meeting_urls(event: JsonObject) -> tuple[str, ...]:
    urls = [str((event.get("onlineMeeting") or {}).get("joinUrl") or ""), str(event.get("onlineMeetingUrl") or "")]
    return tuple(dict.fromkeys(url for url in urls if url))


# --------------------------------------------------------------------------------------------------- recurrence


def recurrence_pattern(value: JsonObject | None) -> RecurrencePattern | None:
    """A Graph patternedRecurrence as a neutral pattern; ``None`` when there is none."""
    if not value or not value.get("pattern"):
        return None
    pattern, limits = value["pattern"], value.get("range") or {}
    kind = _PATTERNS.get(str(pattern.get("type")))
    if kind is None:
        raise GraphMappingError(f"unsupported recurrence pattern {pattern.get('type')!r}")
    if not limits.get("startDate"):
        raise GraphMappingError("a recurrence without a start date")
    range_type = str(limits.get("type") or "noEnd")
    weekdays = []
    for name in pattern.get("daysOfWeek") or ():
        day = _DAYS.get(str(name).lower())
        if day is None:
            raise GraphMappingError(f"unknown weekday {name!r} in a recurrence pattern")
        weekdays.append(day)
    relative = kind in (RecurrenceType.RELATIVE_MONTHLY, RecurrenceType.RELATIVE_YEARLY)
    yearly = kind in (RecurrenceType.ABSOLUTE_YEARLY, RecurrenceType.RELATIVE_YEARLY)
    absolute = kind in (RecurrenceType.ABSOLUTE_MONTHLY, RecurrenceType.ABSOLUTE_YEARLY)
    return RecurrencePattern(
        type=kind,
        range=RecurrenceRange(
            start_date=date.fromisoformat(str(limits["startDate"])),
            end_date=date.fromisoformat(str(limits["endDate"])) if range_type == "endDate" else None,
            count=int(limits.get("numberOfOccurrences") or 0) if range_type == "numbered" else None,
        ),
        interval=int(pattern.get("interval") or 1),
        weekdays=tuple(weekdays),
        day_of_month=int(pattern["dayOfMonth"]) if absolute and pattern.get("dayOfMonth") else None,
        week_index=_WEEKS.get(str(pattern.get("index") or "first").lower()) if relative else None,
        month=int(pattern["month"]) if yearly and pattern.get("month") else None,
        first_day_of_week=_DAYS.get(str(pattern.get("firstDayOfWeek") or "sunday").lower(), DayOfWeek.SUNDAY),
    )


# --------------------------------------------------------------------------------------------------- events


def is_removed(event: JsonObject) -> bool:
    """Whether a delta entry reports an event gone from the window (deleted, or moved out of it)."""
    return "@removed" in event


def to_remote_item(mailbox: str, event: JsonObject, *, recurrence: RecurrencePattern | None = None) -> RemoteItem:
    """One Graph event read from ``mailbox`` (with ``Prefer: outlook.timezone="UTC"``) as a :class:`RemoteItem`.

    ``recurrence`` is the pattern of the event's series when the caller read the series master (an instance
    does not carry it), so an occurrence shows its series' description as through EWS.
    """
    mailbox = MailboxAddress(mailbox)
    item_id = event.get("id")
    if not item_id:
        raise GraphMappingError("an event without an id; skipped", mailbox=mailbox)
    try:
        start, end = _date_time(event.get("start"), "a start"), _date_time(event.get("end"), "an end")
    except GraphMappingError as exc:
        raise GraphMappingError(f"event {item_id!r}: {exc}; skipped", mailbox=mailbox) from exc
    all_day = bool(event.get("isAllDay"))
    if all_day:
        first = _day(start)
        start, end = _midnight(first), _midnight(max(_day(end), first + timedelta(days=1)))
    flagged = bool(event.get("isCancelled"))
    subject, prefixed = strip_cancelled_prefix(str(event.get("subject") or ""), flagged_cancelled=flagged)
    kind = _KINDS.get(str(event.get("type") or "singleInstance"), ItemKind.SINGLE)
    recurrence_id = None
    if kind in (ItemKind.OCCURRENCE, ItemKind.EXCEPTION):
        original = event.get("originalStart")
        recurrence_id = parse_instant(str(original)) if original else start
    organizer = _person(event.get("organizer"))
    my_response = response(event.get("responseStatus"))
    if event.get("isOrganizer") and my_response is Response.NO_RESPONSE:
        my_response = Response.ORGANIZER
    attendees = event.get("attendees")
    last_modified = event.get("lastModifiedDateTime")
    return RemoteItem(
        mailbox=mailbox,
        item_id=str(item_id),
        uid=series_uid(str(event.get("iCalUId") or "")),
        kind=kind,
        subject=subject,
        start=start,
        end=end,
        body=_body(event.get("body")),
        is_all_day=all_day,
        start_timezone=iana_zone(event.get("originalStartTimeZone")),
        end_timezone=iana_zone(event.get("originalEndTimeZone")),
        location=str((event.get("location") or {}).get("displayName") or ""),
        meeting_urls=_meeting_urls(event),
        organizer=organizer,
        required_attendees=_attendees(attendees, "required"),
        optional_attendees=_attendees(attendees, "optional"),
        resources=_attendees(attendees, "resource"),
        my_response=my_response,
        is_cancelled=flagged or prefixed,
        is_meeting=bool(attendees),
        recurrence_id=recurrence_id,
        recurrence=recurrence if kind is not ItemKind.MASTER else recurrence_pattern(event.get("recurrence")),
        last_modified=parse_instant(str(last_modified)) if last_modified else None,
        sensitivity=_SENSITIVITIES.get(str(event.get("sensitivity") or "normal"), Sensitivity.NORMAL),
    )
