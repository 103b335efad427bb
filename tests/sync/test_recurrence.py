"""Series are expanded the way Exchange does it; every expected date below is written out by hand."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tc_calendar.records import (
    DayOfWeek,
    ModifiedOccurrence,
    RecurrencePattern,
    RecurrenceRange,
    RecurrenceType,
    WeekIndex,
)
from tc_calendar.sync.recurrence import ExpandedOccurrence, RecurrenceError, describe, expand
from tc_calendar.sync.window import SyncWindow

MON, WED, FRI, THU = DayOfWeek.MONDAY, DayOfWeek.WEDNESDAY, DayOfWeek.FRIDAY, DayOfWeek.THURSDAY


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def window(first: date, last: date) -> SyncWindow:
    return SyncWindow(
        datetime.combine(first, datetime.min.time(), UTC), datetime.combine(last, datetime.min.time(), UTC)
    )


def starts(occurrences: list[ExpandedOccurrence]) -> list[datetime]:
    return [o.start for o in occurrences]


def test_a_weekly_berlin_meeting_keeps_ten_oclock_local_across_the_spring_dst_change() -> None:
    pattern = RecurrencePattern(RecurrenceType.WEEKLY, RecurrenceRange(date(2026, 3, 16)), weekdays=(MON,))
    found = expand(
        pattern,
        first_start=utc(2026, 3, 16, 9),  # 10:00 CET
        first_end=utc(2026, 3, 16, 10),
        timezone="Europe/Berlin",
        window=window(date(2026, 3, 1), date(2026, 4, 7)),
    )
    # Summer time starts on Sunday 29 March 2026: from then on 10:00 local is 08:00 UTC.
    assert starts(found) == [utc(2026, 3, 16, 9), utc(2026, 3, 23, 9), utc(2026, 3, 30, 8), utc(2026, 4, 6, 8)]
    assert all(o.end - o.start == timedelta(hours=1) and o.original_start == o.start for o in found)


def test_every_two_weeks_on_monday_and_wednesday_until_an_end_date() -> None:
    pattern = RecurrencePattern(
        RecurrenceType.WEEKLY,
        RecurrenceRange(date(2026, 1, 5), end_date=date(2026, 2, 4)),
        interval=2,
        weekdays=(WED, MON),
    )
    found = expand(
        pattern,
        first_start=utc(2026, 1, 5, 14),
        first_end=utc(2026, 1, 5, 15),
        timezone="UTC",
        window=window(date(2025, 12, 1), date(2026, 6, 1)),
    )
    assert starts(found) == [
        utc(2026, 1, 5, 14), utc(2026, 1, 7, 14), utc(2026, 1, 19, 14), utc(2026, 1, 21, 14), utc(2026, 2, 2, 14),
        utc(2026, 2, 4, 14),
    ]  # fmt: skip
    assert describe(pattern) == "Every 2 weeks on Monday, Wednesday until 2026-02-04"


def test_monthly_on_day_31_falls_on_the_last_day_of_shorter_months() -> None:
    pattern = RecurrencePattern(
        RecurrenceType.ABSOLUTE_MONTHLY, RecurrenceRange(date(2026, 1, 31), count=4), day_of_month=31
    )
    found = expand(
        pattern,
        first_start=utc(2026, 1, 31, 8),
        first_end=utc(2026, 1, 31, 9),
        timezone="UTC",
        window=window(date(2026, 1, 1), date(2027, 1, 1)),
    )
    assert starts(found) == [utc(2026, 1, 31, 8), utc(2026, 2, 28, 8), utc(2026, 3, 31, 8), utc(2026, 4, 30, 8)]
    assert describe(pattern) == "Monthly on day 31, 4 times"


def test_monthly_on_the_last_friday_and_on_the_first_weekday() -> None:
    last_friday = RecurrencePattern(
        RecurrenceType.RELATIVE_MONTHLY, RecurrenceRange(date(2026, 1, 1)), weekdays=(FRI,), week_index=WeekIndex.LAST
    )
    first_weekday = RecurrencePattern(
        RecurrenceType.RELATIVE_MONTHLY,
        RecurrenceRange(date(2026, 7, 1)),
        weekdays=(DayOfWeek.WEEKDAY,),
        week_index=WeekIndex.FIRST,
    )
    kwargs = {"timezone": "UTC", "window": window(date(2026, 1, 1), date(2026, 4, 1))}
    assert starts(expand(last_friday, first_start=utc(2026, 1, 30, 16), first_end=utc(2026, 1, 30, 17), **kwargs)) == [
        utc(2026, 1, 30, 16), utc(2026, 2, 27, 16), utc(2026, 3, 27, 16),
    ]  # fmt: skip
    august = window(date(2026, 7, 1), date(2026, 9, 1))
    found = expand(first_weekday, first_start=utc(2026, 7, 1, 9), first_end=utc(2026, 7, 1, 10), timezone="UTC",
                   window=august)  # fmt: skip
    assert starts(found) == [utc(2026, 7, 1, 9), utc(2026, 8, 3, 9)]  # 1 August 2026 is a Saturday
    assert describe(last_friday) == "Monthly on the last Friday"
    assert describe(first_weekday) == "Monthly on the first weekday"


def test_yearly_on_the_fourth_thursday_of_november_in_new_york() -> None:
    pattern = RecurrencePattern(
        RecurrenceType.RELATIVE_YEARLY,
        RecurrenceRange(date(2026, 11, 1)),
        weekdays=(THU,),
        week_index=WeekIndex.FOURTH,
        month=11,
    )
    found = expand(
        pattern,
        first_start=utc(2026, 11, 26, 17),  # 12:00 EST
        first_end=utc(2026, 11, 26, 18),
        timezone="America/New_York",
        window=window(date(2026, 1, 1), date(2028, 1, 1)),
    )
    assert starts(found) == [utc(2026, 11, 26, 17), utc(2027, 11, 25, 17)]
    assert describe(pattern) == "Yearly on the fourth Thursday of November"


def test_yearly_on_29_february_falls_on_28_february_in_common_years() -> None:
    pattern = RecurrencePattern(
        RecurrenceType.ABSOLUTE_YEARLY, RecurrenceRange(date(2028, 2, 29)), day_of_month=29, month=2
    )
    found = expand(
        pattern,
        first_start=utc(2028, 2, 29, 12),
        first_end=utc(2028, 2, 29, 13),
        timezone="UTC",
        window=window(date(2028, 1, 1), date(2030, 12, 31)),
    )
    assert starts(found) == [utc(2028, 2, 29, 12), utc(2029, 2, 28, 12), utc(2030, 2, 28, 12)]
    assert describe(pattern) == "Yearly on February 29"


def test_deleted_occurrences_vanish_but_still_count_and_modified_ones_move() -> None:
    pattern = RecurrencePattern(RecurrenceType.DAILY, RecurrenceRange(date(2026, 5, 1), count=5), interval=3)
    moved = ModifiedOccurrence(utc(2026, 5, 7, 9), utc(2026, 5, 8, 15), utc(2026, 5, 8, 16), "exc-1")
    found = expand(
        pattern,
        first_start=utc(2026, 5, 1, 9),
        first_end=utc(2026, 5, 1, 10),
        timezone="UTC",
        window=window(date(2026, 4, 1), date(2026, 7, 1)),
        modified=[moved],
        deleted=[utc(2026, 5, 4, 9)],
    )
    # Originals: 1, 4 (deleted), 7 (moved to the 8th, 15:00), 10, 13 May; the count of 5 ends the series there.
    assert [(o.original_start, o.start) for o in found] == [
        (utc(2026, 5, 1, 9), utc(2026, 5, 1, 9)),
        (utc(2026, 5, 7, 9), utc(2026, 5, 8, 15)),
        (utc(2026, 5, 10, 9), utc(2026, 5, 10, 9)),
        (utc(2026, 5, 13, 9), utc(2026, 5, 13, 9)),
    ]
    assert found[1].modified == moved
    assert describe(pattern) == "Every 3 days, 5 times"


def test_an_occurrence_moved_into_the_window_is_included_and_one_moved_out_is_not() -> None:
    pattern = RecurrencePattern(RecurrenceType.WEEKLY, RecurrenceRange(date(2026, 6, 1)), weekdays=(MON,))
    into = ModifiedOccurrence(utc(2026, 6, 1, 9), utc(2026, 6, 10, 9), utc(2026, 6, 10, 10))
    out = ModifiedOccurrence(utc(2026, 6, 15, 9), utc(2026, 7, 1, 9), utc(2026, 7, 1, 10))
    found = expand(
        pattern,
        first_start=utc(2026, 6, 1, 9),
        first_end=utc(2026, 6, 1, 10),
        timezone="UTC",
        window=window(date(2026, 6, 8), date(2026, 6, 22)),
        modified=[into, out],
    )
    assert [(o.original_start, o.start) for o in found] == [
        (utc(2026, 6, 8, 9), utc(2026, 6, 8, 9)),
        (utc(2026, 6, 1, 9), utc(2026, 6, 10, 9)),
    ]


def test_an_all_day_series_keeps_local_dates_and_its_identity_is_local_midnight() -> None:
    pattern = RecurrencePattern(RecurrenceType.WEEKLY, RecurrenceRange(date(2026, 3, 2), count=2), weekdays=(MON,))
    found = expand(
        pattern,
        first_start=utc(2026, 3, 2),  # all-day convention: midnight UTC of the local date
        first_end=utc(2026, 3, 3),
        timezone="America/New_York",
        window=window(date(2026, 3, 1), date(2026, 4, 1)),
        all_day=True,
    )
    assert found == [
        ExpandedOccurrence(utc(2026, 3, 2, 5), utc(2026, 3, 2), utc(2026, 3, 3)),  # EST: midnight is 05:00 UTC
        ExpandedOccurrence(utc(2026, 3, 9, 4), utc(2026, 3, 9), utc(2026, 3, 10)),  # EDT from 8 March: 04:00 UTC
    ]


def test_a_series_without_end_is_expanded_only_inside_the_window() -> None:
    pattern = RecurrencePattern(RecurrenceType.DAILY, RecurrenceRange(date(2020, 1, 1)))
    found = expand(
        pattern,
        first_start=utc(2020, 1, 1, 23, 30),
        first_end=utc(2020, 1, 2, 0, 30),
        timezone="UTC",
        window=window(date(2030, 1, 2), date(2030, 1, 4)),
    )
    # The occurrence of 1 January ends at 00:30 on the 2nd, inside the window.
    assert starts(found) == [utc(2030, 1, 1, 23, 30), utc(2030, 1, 2, 23, 30), utc(2030, 1, 3, 23, 30)]
    assert describe(pattern) == "Daily"


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (
            RecurrencePattern(RecurrenceType.WEEKLY, RecurrenceRange(date(2026, 1, 5)), weekdays=(MON,)),
            "Weekly on Monday",
        ),
        (
            RecurrencePattern(
                RecurrenceType.ABSOLUTE_MONTHLY, RecurrenceRange(date(2026, 1, 15), count=10), day_of_month=15
            ),
            "Monthly on day 15, 10 times",
        ),
        (
            RecurrencePattern(
                RecurrenceType.ABSOLUTE_MONTHLY,
                RecurrenceRange(date(2026, 1, 15), count=1),
                interval=2,
                day_of_month=15,
            ),
            "Every 2 months on day 15, once",
        ),
        (
            RecurrencePattern(
                RecurrenceType.ABSOLUTE_YEARLY, RecurrenceRange(date(2026, 3, 15)), interval=2, day_of_month=15, month=3
            ),
            "Every 2 years on March 15",
        ),
        (
            RecurrencePattern(
                RecurrenceType.RELATIVE_MONTHLY,
                RecurrenceRange(date(2026, 1, 1), end_date=date(2026, 12, 31)),
                interval=3,
                weekdays=(DayOfWeek.WEEKEND_DAY,),
                week_index=WeekIndex.SECOND,
            ),
            "Every 3 months on the second weekend day until 2026-12-31",
        ),
    ],
)
def test_summaries_read_as_people_say_them(pattern: RecurrencePattern, text: str) -> None:
    assert describe(pattern) == text


def test_a_pattern_missing_its_weekday_is_refused() -> None:
    pattern = RecurrencePattern(RecurrenceType.WEEKLY, RecurrenceRange(date(2026, 1, 5)))
    with pytest.raises(RecurrenceError, match="weekday"):
        expand(pattern, first_start=utc(2026, 1, 5), first_end=utc(2026, 1, 5, 1), timezone=None,
               window=window(date(2026, 1, 1), date(2026, 2, 1)))  # fmt: skip


zones = st.sampled_from(["Europe/Berlin", "America/New_York", "Europe/Moscow", "Australia/Sydney", "UTC"])
weekday_sets = st.sets(st.sampled_from([MON, WED, FRI, DayOfWeek.SUNDAY]), min_size=1)


@settings(deadline=None)
@given(
    zones,
    weekday_sets,
    st.integers(1, 3),
    st.dates(date(2025, 1, 1), date(2027, 12, 31)),
    st.integers(0, 23),
    st.none() | st.integers(1, 30),
)
@example("America/New_York", {DayOfWeek.MONDAY}, 1, date(2025, 3, 9), 2, None)  # first start in the DST gap
def test_a_weekly_series_keeps_its_local_time_and_weekdays_in_any_zone_all_year(
    zone_name: str, days: set[DayOfWeek], interval: int, first: date, hour: int, count: int | None
) -> None:
    tz = ZoneInfo(zone_name)
    local_start = datetime.combine(first, time(hour, 15), tzinfo=tz)
    pattern = RecurrencePattern(
        RecurrenceType.WEEKLY, RecurrenceRange(first, count=count), interval=interval, weekdays=tuple(days)
    )
    found = expand(
        pattern,
        first_start=local_start.astimezone(UTC),
        # 45 real minutes: wall-clock arithmetic across a DST gap (02:15 on a spring-forward day) would end it early.
        first_end=local_start.astimezone(UTC) + timedelta(minutes=45),
        timezone=zone_name,
        window=window(first, first + timedelta(days=400)),
    )
    names = {d.value for d in days}
    for occurrence in found:
        local = occurrence.start.astimezone(tz)
        assert local.strftime("%A") in names
        assert local.minute == 15 and occurrence.original_start == occurrence.start
        assert occurrence.end - occurrence.start == timedelta(minutes=45)
    assert found == sorted(found, key=lambda o: o.start)
    if count is not None:
        assert len(found) <= count


def test_a_daily_0230_berlin_meeting_on_the_dst_change_days() -> None:
    pattern = RecurrencePattern(RecurrenceType.DAILY, RecurrenceRange(date(2026, 3, 28), count=3))
    spring = expand(
        pattern,
        first_start=utc(2026, 3, 28, 1, 30),  # 02:30 CET
        first_end=utc(2026, 3, 28, 2, 0),
        timezone="Europe/Berlin",
        window=window(date(2026, 3, 1), date(2026, 4, 30)),
    )
    # 02:30 does not exist on 29 March (clocks jump from 02:00 to 03:00): it happens at 03:30 CEST, 01:30 UTC.
    assert starts(spring) == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]
    autumn_pattern = RecurrencePattern(RecurrenceType.DAILY, RecurrenceRange(date(2026, 10, 24), count=3))
    autumn = expand(
        autumn_pattern,
        first_start=utc(2026, 10, 24, 0, 30),  # 02:30 CEST
        first_end=utc(2026, 10, 24, 1, 0),
        timezone="Europe/Berlin",
        window=window(date(2026, 10, 1), date(2026, 11, 30)),
    )
    # 02:30 happens twice on 25 October; the first one (still summer time) is meant.
    assert starts(autumn) == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
