"""Properties of recurrence expansion that must hold for any pattern, range, zone and window."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ews_sim.world import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    DayOfWeek,
    DayOfWeekIndex,
    EndDateRecurrence,
    NoEndRecurrence,
    NumberedRecurrence,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)
from ews_sim.world.recurrence import expand, local_dates, to_local

WEEKDAYS = [d for d in DayOfWeek if d not in (DayOfWeek.DAY, DayOfWeek.WEEKDAY, DayOfWeek.WEEKEND_DAY)]
ZONES = ["UTC", "Europe/Berlin", "Europe/Moscow", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]

patterns = st.one_of(
    st.builds(DailyPattern, st.integers(1, 10)),
    st.builds(
        WeeklyPattern,
        st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True).map(tuple),
        st.integers(1, 4),
        st.sampled_from(WEEKDAYS),
    ),
    st.builds(AbsoluteMonthlyPattern, st.integers(1, 31), st.integers(1, 6)),
    st.builds(
        RelativeMonthlyPattern,
        st.sampled_from(list(DayOfWeek)),
        st.sampled_from(list(DayOfWeekIndex)),
        st.integers(1, 6),
    ),
    st.builds(AbsoluteYearlyPattern, st.integers(1, 28), st.integers(1, 12)),
    st.builds(
        RelativeYearlyPattern,
        st.sampled_from(list(DayOfWeek)),
        st.sampled_from(list(DayOfWeekIndex)),
        st.integers(1, 12),
    ),
)
starts = st.dates(date(2024, 1, 1), date(2027, 12, 31))


@st.composite
def recurrences(draw: st.DrawFn) -> Recurrence:
    pattern = draw(patterns)
    start = draw(starts)
    kind = draw(st.sampled_from(["count", "end", "none"]))
    if kind == "count":
        return Recurrence(pattern, NumberedRecurrence(start, draw(st.integers(1, 30))))
    if kind == "end":
        return Recurrence(pattern, EndDateRecurrence(start, start + timedelta(days=draw(st.integers(0, 900)))))
    return Recurrence(pattern, NoEndRecurrence(start))


@settings(max_examples=150, deadline=None)
@given(
    recurrences(),
    st.sampled_from(ZONES),
    st.times(),
    st.integers(0, 600),
    st.integers(0, 900),
    st.integers(1, 120),
)
def test_window_expansion_is_a_slice_of_the_whole_series(
    rec: Recurrence, zone: str, at: time, duration_min: int, offset_days: int, window_days: int
) -> None:
    local_start = datetime.combine(rec.range.start_date, at.replace(microsecond=0, second=0))
    duration = timedelta(minutes=duration_min)
    # the whole series, up to beyond every window drawn below
    horizon = datetime.combine(rec.range.start_date, time()).replace(tzinfo=UTC) + timedelta(days=1100)
    everything = expand(rec, local_start, duration, zone, None, horizon)
    window_start = datetime.combine(rec.range.start_date, time()).replace(tzinfo=UTC) + timedelta(days=offset_days)
    window_end = window_start + timedelta(days=window_days)
    sliced = expand(rec, local_start, duration, zone, window_start, window_end)

    def overlapping(o) -> bool:  # type: ignore[no-untyped-def]
        return (o.start < window_end and o.end > window_start) or (
            o.start == o.end and window_start <= o.start < window_end
        )

    assert sliced == [o for o in everything if overlapping(o)]
    # indexes are 1, 2, 3... in order, and starts strictly increase
    assert [o.index for o in everything] == list(range(1, len(everything) + 1))
    assert all(a.start < b.start for a, b in itertools.pairwise(everything))
    if isinstance(rec.range, NumberedRecurrence):
        assert len(list(local_dates(rec))) == rec.range.number_of_occurrences


@settings(max_examples=150, deadline=None)
@given(recurrences(), st.sampled_from(ZONES), st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
def test_occurrences_keep_their_wall_time_and_fall_on_pattern_days(
    rec: Recurrence, zone: str, hour: int, minute: int
) -> None:
    local_start = datetime.combine(rec.range.start_date, time(hour, minute))
    occurrences = expand(rec, local_start, timedelta(minutes=30), zone)[:60]
    for occ in occurrences:
        local = to_local(occ.start, zone)
        assert local.date() >= rec.range.start_date
        if isinstance(rec.range, EndDateRecurrence):
            assert local.date() <= rec.range.end_date + timedelta(days=1)
        # the wall time is kept, except in a spring-forward gap where it moves forward by the gap
        shift = datetime.combine(local.date(), local.time()) - datetime.combine(local.date(), time(hour, minute))
        assert timedelta(0) <= shift <= timedelta(hours=1)
        day = local.date()
        pattern = rec.pattern
        if isinstance(pattern, WeeklyPattern) and shift == timedelta(0):
            assert WEEKDAYS[(day.weekday() + 1) % 7] in pattern.days_of_week
        if isinstance(pattern, AbsoluteYearlyPattern | RelativeYearlyPattern):
            assert day.month == pattern.month
