"""The sync window covers cache.backward months back to cache.forward months ahead, in whole UTC days, for series
(guide 3.1.2: "to display recurring events"); single meetings are kept from the same start up to a safety limit."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tc_calendar.sync.window import (
    SyncWindow,
    WindowError,
    WindowRead,
    current_window,
    next_slide,
    slide_read,
    window_at,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_window_runs_from_midnight_months_back_to_end_of_day_months_ahead() -> None:
    window = window_at(utc(2026, 6, 15, 13, 45), backward_months=1, forward_months=3)
    assert window == SyncWindow(utc(2026, 5, 15), utc(2026, 9, 16))


def test_month_arithmetic_clamps_to_the_last_day_of_shorter_months() -> None:
    assert window_at(utc(2026, 3, 31, 9), 1, 0).start == utc(2026, 2, 28)
    assert window_at(utc(2028, 3, 31, 9), 1, 0).start == utc(2028, 2, 29)
    assert window_at(utc(2026, 1, 31, 9), 0, 1).end == utc(2026, 3, 1)  # 28 February + the whole day


def test_the_window_is_the_same_all_day_and_slides_at_midnight_utc() -> None:
    morning = window_at(utc(2026, 6, 15, 0, 0, 1), 2, 2)
    evening = window_at(utc(2026, 6, 15, 23, 59, 59), 2, 2)
    tomorrow = window_at(utc(2026, 6, 16, 0, 0), 2, 2)
    assert morning == evening
    assert tomorrow.start == morning.start + timedelta(days=1)
    assert next_slide(utc(2026, 6, 15, 23, 59, 59)) == utc(2026, 6, 16)


def test_the_day_is_taken_in_utc_whatever_zone_the_clock_reports() -> None:
    moscow = timezone(timedelta(hours=3))
    window = window_at(datetime(2026, 6, 16, 1, 0, tzinfo=moscow), 0, 0)  # still 15 June in UTC
    assert window == SyncWindow(utc(2026, 6, 15), utc(2026, 6, 16))


def test_the_clock_is_injected() -> None:
    assert current_window(lambda: utc(2026, 1, 10, 8), 0, 1).end == utc(2026, 2, 11)


def test_zero_months_still_covers_today() -> None:
    window = window_at(utc(2026, 6, 15, 12), 0, 0)
    assert window.contains(utc(2026, 6, 15, 0)) and not window.contains(utc(2026, 6, 16))


@pytest.mark.parametrize(("backward", "forward"), [(-1, 1), (1, -1)])
def test_negative_months_are_refused_with_the_setting_names(backward: int, forward: int) -> None:
    with pytest.raises(WindowError, match=r"cache\.backward"):
        window_at(utc(2026, 1, 1), backward, forward)


def test_a_naive_clock_is_refused() -> None:
    with pytest.raises(WindowError, match="timezone-aware"):
        window_at(datetime(2026, 1, 1), 1, 1)


def test_overlap_counts_events_partly_inside_and_instants_inside() -> None:
    window = SyncWindow(utc(2026, 6, 1), utc(2026, 7, 1))
    assert window.overlaps(utc(2026, 5, 31, 23), utc(2026, 6, 1, 1))
    assert not window.overlaps(utc(2026, 5, 31, 23), utc(2026, 6, 1))
    assert not window.overlaps(utc(2026, 7, 1), utc(2026, 7, 1, 1))
    assert window.overlaps(utc(2026, 6, 5), utc(2026, 6, 5))


def test_single_meetings_are_kept_two_years_from_the_windows_start_series_only_within_forward() -> None:
    window = window_at(utc(2026, 6, 15, 12), backward_months=2, forward_months=3)
    assert window.singles_end == utc(2028, 4, 15)  # 22 months ahead with the guide's defaults
    in_ten_months = (utc(2027, 4, 15, 9), utc(2027, 4, 15, 10))
    assert window.shows(*in_ten_months, recurring=False)
    assert not window.shows(*in_ten_months, recurring=True)
    too_old = (utc(2026, 4, 14, 9), utc(2026, 4, 14, 10))
    assert not window.shows(*too_old, recurring=False) and not window.shows(*too_old, recurring=True)
    assert not window.shows(utc(2028, 4, 15), utc(2028, 4, 15, 1), recurring=False)  # the safety limit


def test_the_singles_limit_is_never_before_the_series_end() -> None:
    window = window_at(utc(2026, 6, 15), backward_months=12, forward_months=13)
    assert window.singles_end == window.end


def test_a_window_sync_reads_one_view_from_the_start_to_the_singles_limit() -> None:
    window = window_at(utc(2026, 6, 15), 2, 3)
    read = WindowRead.of(window)
    assert read.views() == (SyncWindow(window.start, window.singles_end),)
    assert read.wants(utc(2027, 4, 15), utc(2027, 4, 15, 1), recurring=False)
    assert not read.wants(utc(2027, 4, 15), utc(2027, 4, 15, 1), recurring=True)


def test_a_slide_reads_the_day_that_came_within_forward_and_the_day_that_came_within_the_singles_limit() -> None:
    old, new = window_at(utc(2026, 6, 15), 2, 3), window_at(utc(2026, 6, 16), 2, 3)
    read = slide_read(old, new)
    assert read.views() == (
        SyncWindow(utc(2026, 9, 16), utc(2026, 9, 17)),
        SyncWindow(utc(2028, 4, 15), utc(2028, 4, 16)),
    )
    assert read.wants(utc(2026, 9, 16, 9), utc(2026, 9, 16, 10), recurring=True)
    # a single in the day that came within forward is kept already (it was within the singles' limit): not read
    assert not read.wants(utc(2026, 9, 16, 9), utc(2026, 9, 16, 10), recurring=False)
    assert read.wants(utc(2028, 4, 15, 9), utc(2028, 4, 15, 10), recurring=False)


def test_when_the_singles_limit_is_the_series_end_a_slide_reads_one_view() -> None:
    old, new = window_at(utc(2026, 6, 15), 12, 13), window_at(utc(2026, 6, 16), 12, 13)
    assert slide_read(old, new).views() == (SyncWindow(old.end, new.end),)
