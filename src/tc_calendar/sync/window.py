"""The sync window: which stretch of time the connector materializes occurrences for.

Seed 4.2: occurrences are kept for ``cache.backward`` months back and ``cache.forward`` months ahead. The window
is aligned to whole UTC days so that it only moves once a day ("sliding daily"): every sync on the same day asks
Exchange for exactly the same range, and a change of window is a deliberate, once-a-day event the sync loop can
react to (drop what slid out, fetch what slid in).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware; injected so tests control time exactly."""


def system_clock() -> datetime:
    """The real clock, in UTC."""
    return datetime.now(UTC)


class WindowError(ValueError):
    """The window settings cannot describe a time range (negative months, naive clock)."""


@dataclass(frozen=True, slots=True)
class SyncWindow:
    """A half-open range ``[start, end)`` of aware UTC datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise WindowError("sync window bounds must be timezone-aware")
        if self.end <= self.start:
            raise WindowError(f"sync window end {self.end.isoformat()} must be after start {self.start.isoformat()}")

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether an event lasting ``[start, end)`` is (partly) inside the window.

        A zero-length event counts when its instant lies in the window, so a reminder-like meeting is not lost.
        """
        if end <= start:
            return self.start <= start < self.end
        return start < self.end and end > self.start

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def window_at(now: datetime, backward_months: int, forward_months: int) -> SyncWindow:
    """The window for ``now``: from midnight UTC ``backward_months`` before today to the end of the day
    ``forward_months`` after today.

    Month arithmetic clamps to the month's last day (31 March minus one month is 28 or 29 February), as people
    read "one month back".
    """
    if now.tzinfo is None:
        raise WindowError("the clock must return a timezone-aware datetime")
    if backward_months < 0 or forward_months < 0:
        raise WindowError(
            f"cache.backward ({backward_months}) and cache.forward ({forward_months}) must be zero or more months"
        )
    today = now.astimezone(UTC).date()
    start = today - relativedelta(months=backward_months)
    end = today + relativedelta(months=forward_months) + timedelta(days=1)
    return SyncWindow(_midnight(start), _midnight(end))


def current_window(clock: Clock, backward_months: int, forward_months: int) -> SyncWindow:
    """The window for the clock's current time."""
    return window_at(clock(), backward_months, forward_months)


def next_slide(now: datetime) -> datetime:
    """When the window moves next: the coming midnight UTC."""
    return _midnight(now.astimezone(UTC).date() + timedelta(days=1))
