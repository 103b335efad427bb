"""Recurring series: expanding a neutral pattern into occurrences, and describing it in words.

Exchange expands series itself (CalendarView), so the initial sync receives occurrences ready-made. Incremental
sync (SyncFolderItems) reports the series' master only, so the sync core must expand it the way Exchange does:

* the pattern repeats the master's *wall-clock* time in the series' time zone, so a 10:00 weekly meeting stays at
  10:00 local time across daylight-saving changes (its UTC time moves);
* an occurrence's identity is its original start as an instant (EWS OriginalStart/RecurrenceId), for all-day
  series too (midnight in the series' time zone);
* a monthly or yearly "day 31" falls on the month's last day in shorter months (EWS AbsoluteMonthlyRecurrence);
* deleted occurrences still count toward "end after N occurrences";
* a modified occurrence keeps its original start as identity but takes its new times.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule

from tc_calendar.records import DayOfWeek, ModifiedOccurrence, RecurrencePattern, RecurrenceType, WeekIndex
from tc_calendar.sync.window import SyncWindow


class RecurrenceError(ValueError):
    """A pattern that cannot be expanded (a required field is missing); the item is skipped and logged."""


_WEEKDAY = {
    DayOfWeek.MONDAY: rrule.MO,
    DayOfWeek.TUESDAY: rrule.TU,
    DayOfWeek.WEDNESDAY: rrule.WE,
    DayOfWeek.THURSDAY: rrule.TH,
    DayOfWeek.FRIDAY: rrule.FR,
    DayOfWeek.SATURDAY: rrule.SA,
    DayOfWeek.SUNDAY: rrule.SU,
}
_ANY_DAY = {
    DayOfWeek.DAY: tuple(_WEEKDAY.values()),
    DayOfWeek.WEEKDAY: (rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR),
    DayOfWeek.WEEKEND_DAY: (rrule.SA, rrule.SU),
}
_SETPOS = {WeekIndex.FIRST: 1, WeekIndex.SECOND: 2, WeekIndex.THIRD: 3, WeekIndex.FOURTH: 4, WeekIndex.LAST: -1}
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ExpandedOccurrence:
    """One occurrence of a series: ``original_start`` is its identity, ``start``/``end`` where it actually is."""

    original_start: datetime
    start: datetime
    end: datetime
    modified: ModifiedOccurrence | None = None


def zone(name: str | None) -> tzinfo:
    """The IANA zone of that name, UTC when unknown (the provider already maps Windows zone names)."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _month_day(day_of_month: int | None) -> dict[str, object]:
    if day_of_month is None:
        raise RecurrenceError("an absolute monthly or yearly pattern needs a day of the month")
    if day_of_month <= 28:
        return {"bymonthday": day_of_month}
    # "Day 31" means the month's last day when the month is shorter: the last existing of days 28..31.
    return {"bymonthday": tuple(range(28, day_of_month + 1)), "bysetpos": -1}


def _relative_day(pattern: RecurrencePattern) -> dict[str, object]:
    if not pattern.weekdays or pattern.week_index is None:
        raise RecurrenceError("a relative monthly or yearly pattern needs a weekday and a week index")
    day = pattern.weekdays[0]
    days = _ANY_DAY[day] if day in _ANY_DAY else (_WEEKDAY[day],)
    return {"byweekday": days, "bysetpos": _SETPOS[pattern.week_index]}


def _rule_args(pattern: RecurrencePattern) -> dict[str, object]:
    kind = pattern.type
    if kind is RecurrenceType.DAILY:
        return {"freq": rrule.DAILY}
    if kind is RecurrenceType.WEEKLY:
        days = tuple(_WEEKDAY[d] for d in pattern.weekdays if d in _WEEKDAY)
        if not days:
            raise RecurrenceError("a weekly pattern needs at least one weekday")
        return {"freq": rrule.WEEKLY, "byweekday": days, "wkst": _WEEKDAY.get(pattern.first_day_of_week, rrule.MO)}
    if kind is RecurrenceType.ABSOLUTE_MONTHLY:
        return {"freq": rrule.MONTHLY, **_month_day(pattern.day_of_month)}
    if kind is RecurrenceType.RELATIVE_MONTHLY:
        return {"freq": rrule.MONTHLY, **_relative_day(pattern)}
    if pattern.month is None:
        raise RecurrenceError("a yearly pattern needs a month")
    if kind is RecurrenceType.ABSOLUTE_YEARLY:
        return {"freq": rrule.YEARLY, "bymonth": pattern.month, **_month_day(pattern.day_of_month)}
    return {"freq": rrule.YEARLY, "bymonth": pattern.month, **_relative_day(pattern)}


def _utc(local: datetime, tz: tzinfo) -> datetime:
    return local.replace(tzinfo=tz).astimezone(UTC)


def expand(
    pattern: RecurrencePattern,
    *,
    first_start: datetime,
    first_end: datetime,
    timezone: str | None,
    window: SyncWindow,
    all_day: bool = False,
    modified: Iterable[ModifiedOccurrence] = (),
    deleted: Iterable[datetime] = (),
) -> list[ExpandedOccurrence]:
    """The occurrences of a series that overlap ``window``, in start order.

    ``first_start``/``first_end`` are the master's start and end (aware; for an all-day series midnight UTC of its
    local dates, as :class:`~tc_calendar.providers.base.RemoteItem` holds them). Returned times are UTC; for an
    all-day series ``start``/``end`` are midnight UTC of the local dates and ``original_start`` is the local
    midnight as an instant.
    """
    tz = zone(timezone)
    duration = first_end - first_start
    time_of_day = time(0) if all_day else first_start.astimezone(tz).time().replace(tzinfo=None)
    dtstart = datetime.combine(pattern.range.start_date, time_of_day)
    until = datetime.combine(pattern.range.end_date, time.max) if pattern.range.end_date else None
    rule = rrule.rrule(
        dtstart=dtstart,
        interval=max(1, pattern.interval),
        count=pattern.range.count,
        until=until,
        **_rule_args(pattern),
    )

    def placed(local: datetime) -> tuple[datetime, datetime, datetime]:
        """(original start instant, start, end) of the occurrence at that local wall-clock time."""
        if all_day:
            start = datetime.combine(local.date(), time(0), tzinfo=UTC)
            return _utc(local, tz), start, start + duration
        start = _utc(local, tz)
        return start, start, start + duration

    margin = abs(duration) + timedelta(days=2)
    lower = (window.start - margin).astimezone(tz).replace(tzinfo=None)
    upper = (window.end + timedelta(days=2)).astimezone(tz).replace(tzinfo=None)
    moved = {m.original_start.astimezone(UTC): m for m in modified}
    gone = {d.astimezone(UTC) for d in deleted}

    found: dict[datetime, ExpandedOccurrence] = {}
    for local in rule.between(lower, upper, inc=True):
        original, start, end = placed(local)
        if original in gone or original in moved:
            continue
        if window.overlaps(start, end):
            found[original] = ExpandedOccurrence(original, start, end)
    for original, change in moved.items():
        if original in gone:
            continue
        start, end = change.start.astimezone(UTC), change.end.astimezone(UTC)
        if window.overlaps(start, end):
            found[original] = ExpandedOccurrence(original, start, end, change)
    return sorted(found.values(), key=lambda o: (o.start, o.original_start))


# --------------------------------------------------------------------------------------------------- summary


def _day_name(day: DayOfWeek) -> str:
    return {DayOfWeek.DAY: "day", DayOfWeek.WEEKDAY: "weekday", DayOfWeek.WEEKEND_DAY: "weekend day"}.get(
        day, day.value
    )


def _every(interval: int, unit: str, single: str) -> str:
    return single if interval <= 1 else f"Every {interval} {unit}s"


def _relative(pattern: RecurrencePattern) -> str:
    index = (pattern.week_index or WeekIndex.FIRST).value.lower()
    day = _day_name(pattern.weekdays[0]) if pattern.weekdays else "day"
    return f"the {index} {day}"


def _month_name(month: int | None) -> str:
    return _MONTHS[month - 1] if month and 1 <= month <= 12 else "?"


def describe(pattern: RecurrencePattern) -> str:
    """A short English description, e.g. "Every 2 weeks on Monday, Wednesday until 2026-12-31"."""
    kind, n = pattern.type, pattern.interval
    if kind is RecurrenceType.DAILY:
        text = _every(n, "day", "Daily")
    elif kind is RecurrenceType.WEEKLY:
        order = list(DayOfWeek)
        days = ", ".join(d.value for d in sorted(set(pattern.weekdays), key=order.index))
        text = f"{_every(n, 'week', 'Weekly')} on {days}"
    elif kind is RecurrenceType.ABSOLUTE_MONTHLY:
        text = f"{_every(n, 'month', 'Monthly')} on day {pattern.day_of_month}"
    elif kind is RecurrenceType.RELATIVE_MONTHLY:
        text = f"{_every(n, 'month', 'Monthly')} on {_relative(pattern)}"
    elif kind is RecurrenceType.ABSOLUTE_YEARLY:
        text = f"{_every(n, 'year', 'Yearly')} on {_month_name(pattern.month)} {pattern.day_of_month}"
    else:
        text = f"{_every(n, 'year', 'Yearly')} on {_relative(pattern)} of {_month_name(pattern.month)}"
    limit = pattern.range
    if limit.end_date is not None:
        text += f" until {limit.end_date.isoformat()}"
    elif limit.count is not None:
        text += ", once" if limit.count == 1 else f", {limit.count} times"
    return text

