"""Recurrence patterns and ranges as EWS models them, and their expansion into occurrences.

Expansion happens in the series' own time zone: a weekly 09:00 Europe/Berlin meeting stays at 09:00 local
time across daylight-saving changes, so its UTC start shifts by an hour. It is written independently of
tc_calendar (on python-dateutil's rrule) so that the two implementations check each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


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


def validate(recurrence: Recurrence) -> None:
    """Raise :class:`InvalidRecurrence` for patterns Exchange would reject (interval < 1, day 31 of February...)."""
    raise NotImplementedError


def local_dates(recurrence: Recurrence) -> Iterator[date]:
    """All occurrence dates of the series in order (infinite-free: no-end series stop at the horizon)."""
    raise NotImplementedError


def expand(
    recurrence: Recurrence,
    local_start: datetime,
    duration: timedelta,
    time_zone: str,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
) -> list[Occurrence]:
    """Occurrences of a series whose first occurrence starts at ``local_start``'s time of day (naive, local).

    Only occurrences overlapping [window_start, window_end) (aware datetimes) are returned, but indexes are
    counted from the first occurrence of the series. Nonexistent local times (spring-forward gap) move forward
    by the gap as Exchange does; ambiguous ones take the first (daylight) instant.
    """
    raise NotImplementedError


def to_utc(local: datetime, time_zone: str) -> datetime:
    """A naive local wall time in ``time_zone`` as an aware UTC datetime."""
    raise NotImplementedError


def zone(name: str) -> ZoneInfo:
    """ZoneInfo for an IANA name; :class:`InvalidRecurrence` is not raised here, KeyError-like errors are."""
    return ZoneInfo(name)
