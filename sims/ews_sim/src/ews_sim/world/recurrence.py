"""Recurrence patterns and ranges as EWS models them, and their expansion into occurrences.

Expansion happens in the series' own time zone: a weekly 09:00 Europe/Berlin meeting stays at 09:00 local
time across daylight-saving changes, so its UTC start shifts by an hour. It is written independently of
tc_calendar, by walking the calendar as Outlook describes the patterns, so that the two implementations check
each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ews_sim.world.errors import InvalidRecurrence


class DayOfWeek(StrEnum):
    SUNDAY = "Sunday"
    MONDAY = "Monday"
    TUESDAY = "Tuesday"
    WEDNESDAY = "Wednesday"
    THURSDAY = "Thursday"
    FRIDAY = "Friday"
    SATURDAY = "Saturday"
    DAY = "Day"  # any day (relative patterns only)
    WEEKDAY = "Weekday"  # Monday..Friday (relative patterns only)
    WEEKEND_DAY = "WeekendDay"  # Saturday, Sunday (relative patterns only)


class DayOfWeekIndex(StrEnum):
    FIRST = "First"
    SECOND = "Second"
    THIRD = "Third"
    FOURTH = "Fourth"
    LAST = "Last"


@dataclass(frozen=True)
class DailyPattern:
    interval: int = 1


@dataclass(frozen=True)
class WeeklyPattern:
    days_of_week: tuple[DayOfWeek, ...]
    interval: int = 1
    first_day_of_week: DayOfWeek = DayOfWeek.MONDAY


@dataclass(frozen=True)
class AbsoluteMonthlyPattern:
    day_of_month: int
    interval: int = 1


@dataclass(frozen=True)
class RelativeMonthlyPattern:
    days_of_week: DayOfWeek
    day_of_week_index: DayOfWeekIndex
    interval: int = 1


@dataclass(frozen=True)
class AbsoluteYearlyPattern:
    day_of_month: int
    month: int  # 1..12


@dataclass(frozen=True)
class RelativeYearlyPattern:
    days_of_week: DayOfWeek
    day_of_week_index: DayOfWeekIndex
    month: int  # 1..12


Pattern = (
    DailyPattern
    | WeeklyPattern
    | AbsoluteMonthlyPattern
    | RelativeMonthlyPattern
    | AbsoluteYearlyPattern
    | RelativeYearlyPattern
)


@dataclass(frozen=True)
class NoEndRecurrence:
    start_date: date


@dataclass(frozen=True)
class EndDateRecurrence:
    start_date: date
    end_date: date  # inclusive, a local date in the series' zone


@dataclass(frozen=True)
class NumberedRecurrence:
    start_date: date
    number_of_occurrences: int


Range = NoEndRecurrence | EndDateRecurrence | NumberedRecurrence


@dataclass(frozen=True)
class Recurrence:
    pattern: Pattern
    range: Range


#: Series without an end are expanded no further than this many years after their start.
NO_END_HORIZON_YEARS = 10


@dataclass(frozen=True)
class Occurrence:
    """One expanded occurrence: its 1-based index in the series and its original (unmodified) times in UTC."""

    index: int
    start: datetime
    end: datetime


_WEEKDAY_NUMBERS: dict[DayOfWeek, int] = {
    DayOfWeek.MONDAY: 0,
    DayOfWeek.TUESDAY: 1,
    DayOfWeek.WEDNESDAY: 2,
    DayOfWeek.THURSDAY: 3,
    DayOfWeek.FRIDAY: 4,
    DayOfWeek.SATURDAY: 5,
    DayOfWeek.SUNDAY: 6,
}
_INDEX_NUMBERS: dict[DayOfWeekIndex, int] = {
    DayOfWeekIndex.FIRST: 0,
    DayOfWeekIndex.SECOND: 1,
    DayOfWeekIndex.THIRD: 2,
    DayOfWeekIndex.FOURTH: 3,
    DayOfWeekIndex.LAST: -1,
}


def validate(recurrence: Recurrence) -> None:
    """Raise :class:`InvalidRecurrence` for patterns Exchange would reject (interval < 1, day 32, no days...)."""
    pattern, rng = recurrence.pattern, recurrence.range
    interval = getattr(pattern, "interval", 1)
    if not isinstance(interval, int) or interval < 1 or interval > 999:
        raise InvalidRecurrence("The recurrence interval must be between 1 and 999.")
    if isinstance(pattern, WeeklyPattern):
        if not pattern.days_of_week:
            raise InvalidRecurrence("A weekly recurrence needs at least one day of the week.")
        if any(day not in _WEEKDAY_NUMBERS for day in pattern.days_of_week):
            raise InvalidRecurrence("A weekly recurrence takes only the days Sunday to Saturday.")
        if pattern.first_day_of_week not in _WEEKDAY_NUMBERS:
            raise InvalidRecurrence("FirstDayOfWeek must be one of Sunday to Saturday.")
    if isinstance(pattern, AbsoluteMonthlyPattern | AbsoluteYearlyPattern) and not 1 <= pattern.day_of_month <= 31:
        raise InvalidRecurrence("DayOfMonth must be between 1 and 31.")
    if isinstance(pattern, AbsoluteYearlyPattern | RelativeYearlyPattern) and not 1 <= pattern.month <= 12:
        raise InvalidRecurrence("Month must be between 1 and 12.")
    if isinstance(pattern, AbsoluteYearlyPattern) and pattern.day_of_month > _month_length(2000, pattern.month):
        raise InvalidRecurrence("DayOfMonth does not exist in that month.")
    if isinstance(rng, NumberedRecurrence) and not 1 <= rng.number_of_occurrences <= 999:
        raise InvalidRecurrence("NumberOfOccurrences must be between 1 and 999.")
    if isinstance(rng, EndDateRecurrence) and rng.end_date < rng.start_date:
        raise InvalidRecurrence("The end date of the recurrence is before its start date.")


def _month_length(year: int, month: int) -> int:
    next_month = date(year + month // 12, month % 12 + 1, 1)
    return (next_month - timedelta(days=1)).day


def _matches(day: date, spec: DayOfWeek) -> bool:
    weekday = day.weekday()
    if spec == DayOfWeek.DAY:
        return True
    if spec == DayOfWeek.WEEKDAY:
        return weekday < 5
    if spec == DayOfWeek.WEEKEND_DAY:
        return weekday >= 5
    return weekday == _WEEKDAY_NUMBERS[spec]


def _relative_day(year: int, month: int, spec: DayOfWeek, index: DayOfWeekIndex) -> date:
    """The First..Fourth or Last day matching ``spec`` in a month ("second Tuesday", "last weekday")."""
    days = [date(year, month, d) for d in range(1, _month_length(year, month) + 1)]
    matching = [d for d in days if _matches(d, spec)]
    return matching[_INDEX_NUMBERS[index]]


def _absolute_day(year: int, month: int, day_of_month: int) -> date:
    """Day ``day_of_month`` of a month, clamped to its last day as Outlook does ("day 31" in April is the 30th)."""
    return date(year, month, min(day_of_month, _month_length(year, month)))


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    total = year * 12 + (month - 1) + months
    return total // 12, total % 12 + 1


def _pattern_dates(pattern: Pattern, start: date) -> Iterator[date]:
    """Dates matching the pattern on or after ``start``, in order, without end."""
    if isinstance(pattern, DailyPattern):
        current = start
        while True:
            yield current
            current += timedelta(days=pattern.interval)
    elif isinstance(pattern, WeeklyPattern):
        first = _WEEKDAY_NUMBERS[pattern.first_day_of_week]
        week_start = start - timedelta(days=(start.weekday() - first) % 7)
        offsets = sorted((_WEEKDAY_NUMBERS[d] - first) % 7 for d in set(pattern.days_of_week))
        while True:
            for offset in offsets:
                day = week_start + timedelta(days=offset)
                if day >= start:
                    yield day
            week_start += timedelta(weeks=pattern.interval)
    elif isinstance(pattern, AbsoluteMonthlyPattern | RelativeMonthlyPattern):
        year, month = start.year, start.month
        while True:
            if isinstance(pattern, AbsoluteMonthlyPattern):
                day = _absolute_day(year, month, pattern.day_of_month)
            else:
                day = _relative_day(year, month, pattern.days_of_week, pattern.day_of_week_index)
            if day >= start:
                yield day
            year, month = _add_months(year, month, pattern.interval)
    else:
        year = start.year
        while True:
            if isinstance(pattern, AbsoluteYearlyPattern):
                day = _absolute_day(year, pattern.month, pattern.day_of_month)
            else:
                day = _relative_day(year, pattern.month, pattern.days_of_week, pattern.day_of_week_index)
            if day >= start:
                yield day
            year += 1


def local_dates(recurrence: Recurrence) -> Iterator[date]:
    """All occurrence dates of the series in order; series without an end stop at the horizon (ten years)."""
    validate(recurrence)
    rng = recurrence.range
    if isinstance(rng, EndDateRecurrence):
        last = rng.end_date
    elif isinstance(rng, NumberedRecurrence):
        last = date.max
    else:
        last = rng.start_date.replace(year=rng.start_date.year + NO_END_HORIZON_YEARS, day=1)
    for n, day in enumerate(_pattern_dates(recurrence.pattern, rng.start_date), start=1):
        if day > last:
            return
        if isinstance(rng, NumberedRecurrence) and n > rng.number_of_occurrences:
            return
        yield day


def to_utc(local: datetime, time_zone: str) -> datetime:
    """A naive local wall time in ``time_zone`` as an aware UTC datetime.

    fold=0 makes a time in the spring-forward gap land after the gap (02:30 -> 03:30 CEST) and an ambiguous
    autumn time take its first, daylight-saving instant.
    """
    return local.replace(tzinfo=zone(time_zone), fold=0).astimezone(UTC)


def to_local(instant: datetime, time_zone: str) -> datetime:
    """An aware instant as naive wall time in ``time_zone``."""
    return instant.astimezone(zone(time_zone)).replace(tzinfo=None)


def expand(
    recurrence: Recurrence,
    local_start: datetime,
    duration: timedelta,
    time_zone: str,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
) -> list[Occurrence]:
    """Occurrences of a series whose occurrences start at ``local_start``'s time of day (naive, local).

    ``duration`` is wall-clock time in the series' zone (an all-day event ends at local midnight even on the
    day the clocks change). Only occurrences overlapping [window_start, window_end) are returned, but indexes
    count from the first occurrence of the series. Nonexistent local times (spring-forward gap) move forward
    by the gap as Exchange does; ambiguous ones take the first (daylight) instant.
    """
    time_of_day = local_start.time().replace(tzinfo=None)
    last_date = None if window_end is None else to_local(window_end, time_zone).date() + timedelta(days=1)
    result: list[Occurrence] = []
    for index, day in enumerate(local_dates(recurrence), start=1):
        if last_date is not None and day > last_date:
            break
        local = datetime.combine(day, time_of_day)
        start = to_utc(local, time_zone)
        end = to_utc(local + duration, time_zone)
        if not _overlaps(start, end, window_start, window_end):
            continue
        result.append(Occurrence(index, start, end))
    return result


def _overlaps(start: datetime, end: datetime, window_start: datetime | None, window_end: datetime | None) -> bool:
    """[start, end) meets [window_start, window_end); a zero-length occurrence counts at its start."""
    if start == end:
        return (window_start is None or start >= window_start) and (window_end is None or start < window_end)
    return (window_end is None or start < window_end) and (window_start is None or end > window_start)


def occurrence_at(
    recurrence: Recurrence, local_start: datetime, duration: timedelta, time_zone: str, index: int
) -> Occurrence | None:
    """The ``index``-th (1-based) occurrence, or None when the series has fewer."""
    if index < 1:
        return None
    time_of_day = local_start.time().replace(tzinfo=None)
    for n, day in enumerate(local_dates(recurrence), start=1):
        if n == index:
            local = datetime.combine(day, time_of_day)
            return Occurrence(index, to_utc(local, time_zone), to_utc(local + duration, time_zone))
    return None


def first_date(recurrence: Recurrence) -> date | None:
    """The date of the first occurrence (the range's start date moved to the first matching day)."""
    return next(iter(local_dates(recurrence)), None)


def last_date(recurrence: Recurrence) -> date | None:
    """The date of the last occurrence, or None for series without an end."""
    if isinstance(recurrence.range, NoEndRecurrence):
        return None
    last: date | None = None
    for day in local_dates(recurrence):
        last = day
    return last


def zone(name: str) -> ZoneInfo:
    """ZoneInfo for an IANA name (raises :class:`InvalidRecurrence`-independent ``ValueError`` if unknown)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
