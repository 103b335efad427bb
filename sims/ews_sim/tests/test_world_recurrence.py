"""Recurrence expansion, one test per pattern and range type; expected dates worked out by hand on a calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ews_sim.world import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    DayOfWeek,
    DayOfWeekIndex,
    EndDateRecurrence,
    InvalidRecurrence,
    NoEndRecurrence,
    NumberedRecurrence,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)
from ews_sim.world.recurrence import expand, first_date, last_date, local_dates, occurrence_at

Mon, Wed, Fri, Sat, Sun = (
    DayOfWeek.MONDAY,
    DayOfWeek.WEDNESDAY,
    DayOfWeek.FRIDAY,
    DayOfWeek.SATURDAY,
    DayOfWeek.SUNDAY,
)


def dates(recurrence: Recurrence) -> list[date]:
    return list(local_dates(recurrence))


def d(text: str) -> date:
    return date.fromisoformat(text)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_daily_every_second_day_after_n_occurrences_crosses_month_end() -> None:
    rec = Recurrence(DailyPattern(interval=2), NumberedRecurrence(d("2026-01-30"), 4))
    assert dates(rec) == [d("2026-01-30"), d("2026-02-01"), d("2026-02-03"), d("2026-02-05")]


def test_daily_end_date_is_inclusive() -> None:
    rec = Recurrence(DailyPattern(), EndDateRecurrence(d("2026-01-01"), d("2026-01-03")))
    assert dates(rec) == [d("2026-01-01"), d("2026-01-02"), d("2026-01-03")]


def test_weekly_several_days_every_other_week_until_end_date() -> None:
    # 2026-03-04 is a Wednesday; the week of 9 March is skipped.
    rec = Recurrence(WeeklyPattern((Mon, Wed, Fri), interval=2), EndDateRecurrence(d("2026-03-04"), d("2026-03-20")))
    assert dates(rec) == [d("2026-03-04"), d("2026-03-06"), d("2026-03-16"), d("2026-03-18"), d("2026-03-20")]


@pytest.mark.parametrize(
    ("first_day", "expected"),
    [
        (Sun, ["2026-03-07", "2026-03-15", "2026-03-21", "2026-03-29"]),
        (Mon, ["2026-03-07", "2026-03-08", "2026-03-21", "2026-03-22"]),
    ],
)
def test_weekly_first_day_of_week_decides_which_weekends_pair_up(first_day: DayOfWeek, expected: list[str]) -> None:
    rec = Recurrence(
        WeeklyPattern((Sat, Sun), interval=2, first_day_of_week=first_day), NumberedRecurrence(d("2026-03-04"), 4)
    )
    assert dates(rec) == [d(x) for x in expected]


def test_absolute_monthly_day_31_falls_back_to_the_last_day_of_short_months() -> None:
    rec = Recurrence(AbsoluteMonthlyPattern(31), NumberedRecurrence(d("2026-01-01"), 4))
    assert dates(rec) == [d("2026-01-31"), d("2026-02-28"), d("2026-03-31"), d("2026-04-30")]


def test_absolute_monthly_skips_a_day_before_the_range_start() -> None:
    rec = Recurrence(AbsoluteMonthlyPattern(5, interval=3), NumberedRecurrence(d("2026-01-10"), 2))
    assert dates(rec) == [d("2026-04-05"), d("2026-07-05")]


def test_relative_monthly_second_tuesday() -> None:
    rec = Recurrence(
        RelativeMonthlyPattern(DayOfWeek.TUESDAY, DayOfWeekIndex.SECOND), NumberedRecurrence(d("2026-01-01"), 3)
    )
    assert dates(rec) == [d("2026-01-13"), d("2026-02-10"), d("2026-03-10")]


def test_relative_monthly_last_friday_every_other_month() -> None:
    rec = Recurrence(
        RelativeMonthlyPattern(Fri, DayOfWeekIndex.LAST, interval=2),
        EndDateRecurrence(d("2026-01-01"), d("2026-06-30")),
    )
    assert dates(rec) == [d("2026-01-30"), d("2026-03-27"), d("2026-05-29")]


def test_relative_monthly_last_weekday() -> None:
    rec = Recurrence(
        RelativeMonthlyPattern(DayOfWeek.WEEKDAY, DayOfWeekIndex.LAST), NumberedRecurrence(d("2026-01-01"), 2)
    )
    assert dates(rec) == [d("2026-01-30"), d("2026-02-27")]  # 31 Jan and 28 Feb 2026 are Saturdays


def test_absolute_yearly_29_february_outside_leap_years() -> None:
    rec = Recurrence(AbsoluteYearlyPattern(29, 2), NumberedRecurrence(d("2027-01-01"), 3))
    assert dates(rec) == [d("2027-02-28"), d("2028-02-29"), d("2029-02-28")]


def test_relative_yearly_first_monday_of_september() -> None:
    rec = Recurrence(RelativeYearlyPattern(Mon, DayOfWeekIndex.FIRST, 9), NumberedRecurrence(d("2026-01-01"), 3))
    assert dates(rec) == [d("2026-09-07"), d("2027-09-06"), d("2028-09-04")]


def test_no_end_series_expands_inside_a_window_with_indexes_counted_from_the_start() -> None:
    rec = Recurrence(DailyPattern(), NoEndRecurrence(d("2026-01-01")))
    occ = expand(
        rec, datetime(2026, 1, 1, 9), timedelta(minutes=30), "UTC", utc("2026-01-10T00:00"), utc("2026-01-12T00:00")
    )
    assert [(o.index, o.start, o.end) for o in occ] == [
        (10, utc("2026-01-10T09:00"), utc("2026-01-10T09:30")),
        (11, utc("2026-01-11T09:00"), utc("2026-01-11T09:30")),
    ]
    assert last_date(rec) is None


def test_window_includes_an_occurrence_that_started_before_it() -> None:
    rec = Recurrence(DailyPattern(), NumberedRecurrence(d("2026-01-01"), 3))
    occ = expand(
        rec, datetime(2026, 1, 1, 23), timedelta(hours=2), "UTC", utc("2026-01-02T00:30"), utc("2026-01-02T01:00")
    )
    assert [o.index for o in occ] == [1]


def test_weekly_berlin_meeting_stays_at_nine_local_across_the_spring_change() -> None:
    # Berlin moves to summer time on Sunday 2026-03-29.
    rec = Recurrence(WeeklyPattern((Mon,)), NumberedRecurrence(d("2026-03-16"), 3))
    occ = expand(rec, datetime(2026, 3, 16, 9), timedelta(minutes=30), "Europe/Berlin")
    assert [o.start for o in occ] == [utc("2026-03-16T08:00"), utc("2026-03-23T08:00"), utc("2026-03-30T07:00")]


def test_new_york_changes_three_weeks_earlier_and_back_in_november() -> None:
    rec = Recurrence(WeeklyPattern((Fri,)), EndDateRecurrence(d("2026-03-06"), d("2026-03-13")))
    occ = expand(rec, datetime(2026, 3, 6, 9), timedelta(hours=1), "America/New_York")
    assert [o.start for o in occ] == [utc("2026-03-06T14:00"), utc("2026-03-13T13:00")]
    autumn = Recurrence(WeeklyPattern((Fri,)), NumberedRecurrence(d("2026-10-30"), 2))
    occ = expand(autumn, datetime(2026, 10, 30, 9), timedelta(hours=1), "America/New_York")
    assert [o.start for o in occ] == [utc("2026-10-30T13:00"), utc("2026-11-06T14:00")]


def test_time_in_the_spring_gap_moves_forward_by_the_gap() -> None:
    rec = Recurrence(DailyPattern(), NumberedRecurrence(d("2026-03-28"), 3))
    occ = expand(rec, datetime(2026, 3, 28, 2, 30), timedelta(minutes=30), "Europe/Berlin")
    assert [o.start for o in occ] == [utc("2026-03-28T01:30"), utc("2026-03-29T01:30"), utc("2026-03-30T00:30")]


def test_all_day_occurrence_ends_at_local_midnight_on_the_change_day() -> None:
    rec = Recurrence(DailyPattern(), NumberedRecurrence(d("2026-03-29"), 1))
    (occ,) = expand(rec, datetime(2026, 3, 29), timedelta(days=1), "Europe/Berlin")
    assert (occ.start, occ.end) == (utc("2026-03-28T23:00"), utc("2026-03-29T22:00"))


def test_occurrence_by_index_and_first_date() -> None:
    rec = Recurrence(WeeklyPattern((Fri,)), NumberedRecurrence(d("2026-03-02"), 2))
    assert first_date(rec) == d("2026-03-06")
    second = occurrence_at(rec, datetime(2026, 3, 6, 10), timedelta(hours=1), "UTC", 2)
    assert second is not None and second.start == utc("2026-03-13T10:00")
    assert occurrence_at(rec, datetime(2026, 3, 6, 10), timedelta(hours=1), "UTC", 3) is None
    assert last_date(rec) == d("2026-03-13")


@pytest.mark.parametrize(
    "rec",
    [
        Recurrence(DailyPattern(interval=0), NoEndRecurrence(d("2026-01-01"))),
        Recurrence(WeeklyPattern(()), NoEndRecurrence(d("2026-01-01"))),
        Recurrence(AbsoluteMonthlyPattern(32), NoEndRecurrence(d("2026-01-01"))),
        Recurrence(AbsoluteYearlyPattern(30, 2), NoEndRecurrence(d("2026-01-01"))),
        Recurrence(DailyPattern(), NumberedRecurrence(d("2026-01-01"), 0)),
        Recurrence(DailyPattern(), EndDateRecurrence(d("2026-01-02"), d("2026-01-01"))),
    ],
)
def test_invalid_recurrences_are_rejected_like_exchange(rec: Recurrence) -> None:
    with pytest.raises(InvalidRecurrence) as info:
        dates(rec)
    assert info.value.response_code == "ErrorInvalidRecurrence"
