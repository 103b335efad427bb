"""Pure mapping from exchangelib calendar items to provider-neutral :class:`RemoteItem` records.

No network here: the EWS adapter fetches items and hands them to :func:`to_remote_item`; tests build exchangelib
objects directly or parse EWS XML with ``CalendarItem.from_xml``. Exchange quirks handled here:

* exchangelib gives enum fields (weekdays, months, week numbers) as 1-based integers after parsing XML but keeps
  the strings when an object is built in code; both are accepted.
* All-day items: EWS sends midnight in the item's time zone; exchangelib turns a parsed all-day item into dates,
  with ``end`` as the *last* day (inclusive). Either way the record gets midnight UTC of the local dates, end
  exclusive.
* An attendee's copy of a cancelled meeting has its subject prefixed with "Canceled: " by Exchange; the prefix is
  stripped into ``is_cancelled`` so that it is never shown twice.
* "Unknown" and "NoResponseReceived" both mean that no answer is known.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

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

CANCELLED_PREFIXES = ("Canceled: ", "Cancelled: ")
"""Subject prefixes Exchange puts on attendee copies of cancelled meetings (English); always a cancellation."""

LOCALIZED_CANCELLED_PREFIXES = ("Отменено: ", "Отменена: ", "Abgesagt: ", "Annulé : ", "Annulé: ", "Cancelado: ")
"""The same prefix in other languages of the organizer's Outlook; stripped only from items Exchange flags
cancelled, since a title may well start with such a word."""

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
# exchangelib's enums, in their 1-based order (exchangelib.fields WEEKDAYS, WEEK_NUMBERS, MONTHS).
_DAYS = tuple(DayOfWeek)
_WEEKS = tuple(WeekIndex)
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_PATTERNS = {
    "DailyPattern": RecurrenceType.DAILY,
    "WeeklyPattern": RecurrenceType.WEEKLY,
    "AbsoluteMonthlyPattern": RecurrenceType.ABSOLUTE_MONTHLY,
    "RelativeMonthlyPattern": RecurrenceType.RELATIVE_MONTHLY,
    "AbsoluteYearlyPattern": RecurrenceType.ABSOLUTE_YEARLY,
    "RelativeYearlyPattern": RecurrenceType.RELATIVE_YEARLY,
}


FETCH_FIELDS: tuple[str, ...] = (
    "subject",
    "body",
    "uid",
    "type",
    "start",
    "end",
    "is_all_day",
    "_start_timezone",
    "_end_timezone",
    "location",
    "organizer",
    "required_attendees",
    "optional_attendees",
    "resources",
    "sensitivity",
    "my_response_type",
    "is_meeting",
    "is_cancelled",
    "recurrence_id",
    "original_start",
    "recurrence",
    "modified_occurrences",
    "deleted_occurrences",
    "last_modified_time",
    "meeting_workspace_url",
    "net_show_url",
)
"""The CalendarItem fields :func:`to_remote_item` reads (``only_fields`` of GetItem). The time zones are
required: exchangelib needs them to turn an all-day item's instants into the right local dates."""


_MEETING_URL_FIELDS = ("meeting_workspace_url", "net_show_url")


class ItemMappingError(ProviderError):
    """An item lacks data every calendar item has (an id, a start); it is skipped, the rest of the sync goes on."""


# --------------------------------------------------------------------------------------------------- values


def utc(value: datetime, default_tz: tzinfo = UTC) -> datetime:
    """A plain ``datetime`` in UTC; exchangelib's ``EWSDateTime`` refuses non-EWS zones, so it is rebuilt first."""
    plain = datetime(
        value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond,
        tzinfo=value.tzinfo or default_tz, fold=value.fold,
    )  # fmt: skip
    return plain.astimezone(UTC)


def _midnight_utc(day: date) -> datetime:
    return datetime.combine(date(day.year, day.month, day.day), time(0), tzinfo=UTC)


def _local_date(value: date | datetime, tz: tzinfo, *, round_up: bool = False) -> date:
    if not isinstance(value, datetime):
        return date(value.year, value.month, value.day)
    local = utc(value, tz).astimezone(tz)
    day = local.date()
    if round_up and local.time() != time(0):
        day += timedelta(days=1)
    return day


def response(value: str | None) -> Response:
    """An EWS ResponseType as the user-visible answer."""
    return _RESPONSES.get(value or "Unknown", Response.NO_RESPONSE)


def sensitivity(value: str | None) -> Sensitivity:
    """EWS Sensitivity (Normal, Personal, Private, Confidential); Normal when absent or unknown."""
    try:
        return Sensitivity(value or Sensitivity.NORMAL.value)
    except ValueError:
        return Sensitivity.NORMAL


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


def _email(mailbox: Any) -> str:
    return MailboxAddress(str(getattr(mailbox, "email_address", None) or ""))


def _person(mailbox: Any) -> Person | None:
    if mailbox is None:
        return None
    return Person(_email(mailbox), str(getattr(mailbox, "name", None) or ""))


def _attendees(values: Iterable[Any] | None) -> tuple[RemoteAttendee, ...]:
    out = []
    for attendee in values or ():
        mailbox = getattr(attendee, "mailbox", None)
        email = _email(mailbox)
        if not email:
            continue
        when = getattr(attendee, "last_response_time", None)
        out.append(
            RemoteAttendee(
                email=email,
                name=str(getattr(mailbox, "name", None) or ""),
                response=response(getattr(attendee, "response_type", None)),
                last_response_time=utc(when) if when else None,
            )
        )
    return tuple(out)


def _body(value: Any) -> ItemBody:
    if not value:
        return ItemBody("")
    kind = BodyType.HTML if getattr(value, "body_type", "Text") == "HTML" else BodyType.TEXT
    return ItemBody(str(value), kind)


def _zone_name(value: Any) -> str | None:
    key = getattr(value, "key", None)
    return str(key) if key else None


# --------------------------------------------------------------------------------------------------- recurrence


def _enum(value: Any, names: tuple[Any, ...], what: str) -> Any:
    if isinstance(value, int) and 1 <= value <= len(names):
        return names[value - 1]
    for name in names:
        if value == name or value == getattr(name, "value", name):
            return name
    raise ItemMappingError(f"unknown {what} {value!r} in a recurrence pattern")


def _weekdays(value: Any) -> tuple[DayOfWeek, ...]:
    if value is None:
        return ()
    values = [value] if isinstance(value, int | str) else list(value)
    return tuple(_enum(v, _DAYS, "weekday") for v in values)


def _month(value: Any) -> int:
    name = _enum(value, _MONTH_NAMES, "month")
    return _MONTH_NAMES.index(name) + 1


def _boundary(boundary: Any) -> RecurrenceRange:
    start = getattr(boundary, "start", None)
    if start is None:
        raise ItemMappingError("a recurrence without a start date")
    end = getattr(boundary, "end", None)
    number = getattr(boundary, "number", None)
    return RecurrenceRange(
        start_date=date(start.year, start.month, start.day),
        end_date=date(end.year, end.month, end.day) if end is not None else None,
        count=int(number) if number is not None else None,
    )


def recurrence_pattern(recurrence: Any) -> RecurrencePattern | None:
    """exchangelib's ``Recurrence`` (pattern + boundary) as a neutral pattern; ``None`` when there is none.

    Task regeneration patterns never occur on calendar items and are refused.
    """
    if recurrence is None or getattr(recurrence, "pattern", None) is None:
        return None
    pattern = recurrence.pattern
    kind = _PATTERNS.get(type(pattern).__name__)
    if kind is None:
        raise ItemMappingError(f"unsupported recurrence pattern {type(pattern).__name__}")
    weekday = getattr(pattern, "weekday", None)
    week_number = getattr(pattern, "week_number", None)
    month = getattr(pattern, "month", None)
    return RecurrencePattern(
        type=kind,
        range=_boundary(recurrence.boundary),
        interval=int(getattr(pattern, "interval", None) or 1),
        weekdays=_weekdays(getattr(pattern, "weekdays", None)) or _weekdays(weekday),
        day_of_month=getattr(pattern, "day_of_month", None),
        week_index=_enum(week_number, _WEEKS, "week index") if week_number is not None else None,
        month=_month(month) if month is not None else None,
        first_day_of_week=_enum(getattr(pattern, "first_day_of_week", None) or 1, _DAYS, "first day of week"),
    )


# --------------------------------------------------------------------------------------------------- items


def to_remote_item(mailbox: str, item: Any, *, default_timezone: str | None = None) -> RemoteItem:
    """One exchangelib ``CalendarItem`` read from ``mailbox`` as a :class:`RemoteItem`.

    ``default_timezone`` (the mailbox's zone) is used when the item names none, for all-day dates.
    """
    mailbox = MailboxAddress(mailbox)
    item_id = getattr(item, "id", None)
    start, end = getattr(item, "start", None), getattr(item, "end", None)
    if not item_id or start is None or end is None:
        raise ItemMappingError(f"calendar item {item_id!r} has no id, start or end; skipped", mailbox=mailbox)
    start_tz_name = _zone_name(getattr(item, "_start_timezone", None)) or default_timezone
    end_tz_name = _zone_name(getattr(item, "_end_timezone", None)) or start_tz_name
    start_tz, end_tz = zone(start_tz_name), zone(end_tz_name)
    all_day = bool(getattr(item, "is_all_day", False))

    if all_day:
        first = _local_date(start, start_tz)
        if isinstance(end, datetime):
            after_last = _local_date(end, end_tz, round_up=True)
        else:  # exchangelib's parsed form: the last day itself
            after_last = _local_date(end, end_tz) + timedelta(days=1)
        after_last = max(after_last, first + timedelta(days=1))
        start_at, end_at = _midnight_utc(first), _midnight_utc(after_last)
    else:
        start_at, end_at = utc(start, start_tz), utc(end, end_tz)

    flagged = bool(getattr(item, "is_cancelled", False))
    subject, prefixed = strip_cancelled_prefix(str(getattr(item, "subject", None) or ""), flagged_cancelled=flagged)
    kind = _KINDS.get(str(getattr(item, "type", None) or "Single"), ItemKind.SINGLE)
    recurrence_id = getattr(item, "recurrence_id", None) or getattr(item, "original_start", None)
    if kind in (ItemKind.SINGLE, ItemKind.MASTER):
        recurrence_id = None
    last_modified = getattr(item, "last_modified_time", None)

    def placed(value: datetime) -> datetime:
        """A moved occurrence of an all-day series keeps the all-day convention."""
        return _midnight_utc(_local_date(value, start_tz)) if all_day else utc(value)

    return RemoteItem(
        mailbox=mailbox,
        item_id=str(item_id),
        uid=str(getattr(item, "uid", None) or ""),
        kind=kind,
        subject=subject,
        start=start_at,
        end=end_at,
        body=_body(getattr(item, "body", None)),
        is_all_day=all_day,
        start_timezone=start_tz_name,
        end_timezone=end_tz_name,
        location=str(getattr(item, "location", None) or ""),
        meeting_urls=tuple(str(u) for u in (getattr(item, f, None) for f in _MEETING_URL_FIELDS) if u),
        organizer=_person(getattr(item, "organizer", None)),
        required_attendees=_attendees(getattr(item, "required_attendees", None)),
        optional_attendees=_attendees(getattr(item, "optional_attendees", None)),
        resources=_attendees(getattr(item, "resources", None)),
        sensitivity=sensitivity(getattr(item, "sensitivity", None)),
        my_response=response(getattr(item, "my_response_type", None)),
        is_cancelled=flagged or prefixed,
        is_meeting=bool(getattr(item, "is_meeting", False)),
        recurrence_id=utc(recurrence_id) if recurrence_id else None,
        recurrence=recurrence_pattern(getattr(item, "recurrence", None)),
        modified_occurrences=tuple(
            ModifiedOccurrence(
                original_start=utc(o.original_start),
                start=placed(o.start),
                end=placed(o.end),
                item_id=getattr(o, "id", None),
            )
            for o in getattr(item, "modified_occurrences", None) or ()
            if o.original_start is not None and o.start is not None and o.end is not None
        ),
        deleted_occurrences=tuple(
            utc(o.start) for o in getattr(item, "deleted_occurrences", None) or () if o.start is not None
        ),
        last_modified=utc(last_modified) if last_modified else None,
    )


def with_exceptions(master: RemoteItem, exceptions: Iterable[RemoteItem]) -> RemoteItem:
    """The master with its modified occurrences' full items attached (those of its series, by recurrence id)."""
    own = tuple(
        e
        for e in exceptions
        if e.uid == master.uid and e.recurrence_id is not None and e.kind in (ItemKind.EXCEPTION, ItemKind.OCCURRENCE)
    )
    return replace(master, exceptions=own)
