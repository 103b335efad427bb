"""The sync window covers cache.backward months back to cache.forward months ahead, in whole UTC days."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tc_calendar.sync.window import SyncWindow, WindowError, current_window, next_slide, window_at


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
