"""The sync window: which stretch of time the connector keeps events for.

The admin guide (3.1.2) defines ``cache.backward`` and ``cache.forward`` as "the number of months back from / forward
from the current date to display recurring events". So the window bounds *series*, not every event:

* occurrences of a recurring series (and occurrences or exceptions a server hands over on their own) are kept
  when they overlap ``[start, end)``: ``backward`` months back to ``forward`` months ahead;
* a single (non-recurring) meeting is kept from the same ``start`` on, with no upper bound but a safety limit,
  :data:`SINGLES_REACH` after ``start`` (Exchange's calendar views span at most two years, so one view still
  reads the whole of it): :attr:`SyncWindow.singles_end`.

The window is aligned to whole UTC days so that it only moves once a day ("sliding daily"): every sync on the same
day asks the server for exactly the same range, and a change of window is a deliberate, once-a-day event the sync
loop can react to (drop what slid out, fetch what slid in: :func:`slide_read`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from dateutil.relativedelta import relativedelta

from tc_calendar.clocks import WallClock

SINGLES_REACH = relativedelta(years=2)
"""How far after the window's start single meetings are kept: Exchange's CalendarView (and so the one request that
reads a window) spans at most two years (``ErrorCalendarViewRangeTooBig`` beyond 732 days). With the guide's
defaults (2 months back) a single meeting is kept up to 22 months ahead; one booked later still appears once the
window has moved close enough."""


class WindowError(ValueError):
    """The window settings cannot describe a time range (negative months, naive clock)."""


@dataclass(frozen=True, slots=True)
class SyncWindow:
    """A half-open range ``[start, end)`` of aware UTC datetimes.

    As the sync window (:func:`window_at`), ``[start, end)`` bounds series and ``[start, singles_end)`` single
    meetings (see the module documentation); the checkpoint stores ``start`` and ``end`` only, since the rest
    follows from them.
    """

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

    @property
    def singles_end(self) -> datetime:
        """Where single meetings stop being kept: :data:`SINGLES_REACH` after ``start`` (never before ``end``)."""
        return _singles(self).end

    @property
    def singles(self) -> SyncWindow:
        """The range single meetings are kept in: ``[start, singles_end)``."""
        return _singles(self)

    def shows(self, start: datetime, end: datetime, *, recurring: bool) -> bool:
        """Whether an event lasting ``[start, end)`` is kept: an occurrence of a series when it overlaps
        ``[start, end)``, a single meeting when it overlaps ``[start, singles_end)``."""
        return (self if recurring else self.singles).overlaps(start, end)


@lru_cache(maxsize=64)
def _singles(window: SyncWindow) -> SyncWindow:
    """``window.singles``, asked for every item of every sync: date arithmetic in months is slow, and the windows
    of a day are few."""
    reach: datetime = window.start + SINGLES_REACH
    return SyncWindow(window.start, max(window.end, reach))


@dataclass(frozen=True, slots=True)
class WindowRead:
    """What a provider reads from the server for a window sync or a daily slide, and what it keeps of it.

    ``series``: the range whose occurrences of recurring series are wanted (the provider hands over each such
    series, as its master with its exceptions, or as the occurrences the server expanded); ``singles``: the range
    whose single meetings are wanted. Either may be ``None`` (nothing of that kind to read). A provider reads
    :meth:`views` (one calendar view when the two ranges touch, as for a window sync, so a window sync costs one
    request; two small ones for a slide, whose ranges lie months apart) and keeps what :meth:`wants`.
    """

    series: SyncWindow | None
    singles: SyncWindow | None

    @classmethod
    def of(cls, window: SyncWindow) -> WindowRead:
        """A whole window: series in ``[start, end)``, singles in ``[start, singles_end)``."""
        return cls(window, window.singles)

    def views(self) -> tuple[SyncWindow, ...]:
        """The ranges to ask a calendar view for: the hull of the two ranges when they overlap or touch, else each."""
        ranges = sorted((r for r in (self.series, self.singles) if r is not None), key=lambda r: (r.start, r.end))
        merged: list[SyncWindow] = []
        for found in ranges:
            if merged and found.start <= merged[-1].end:
                merged[-1] = SyncWindow(merged[-1].start, max(merged[-1].end, found.end))
            else:
                merged.append(found)
        return tuple(merged)

    def wants(self, start: datetime, end: datetime, *, recurring: bool) -> bool:
        """Whether an item a view listed is to be read: an occurrence or exception of a series overlapping
        ``series``, or a single meeting overlapping ``singles``."""
        wanted = self.series if recurring else self.singles
        return wanted is not None and wanted.overlaps(start, end)


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


def current_window(clock: WallClock, backward_months: int, forward_months: int) -> SyncWindow:
    """The window for the clock's current time."""
    return window_at(clock(), backward_months, forward_months)


def slide_read(old: SyncWindow, new: SyncWindow) -> WindowRead:
    """What slid in when the window moved from ``old`` to ``new`` (forward, overlapping): series occurrences in
    ``[old.end, new.end)`` and single meetings in ``[old.singles_end, new.singles_end)``. Singles between the two
    ends are already kept (incremental sync keeps them current), so they are not read again."""
    return WindowRead(_range(old.end, new.end), _range(old.singles_end, new.singles_end))


def _range(start: datetime, end: datetime) -> SyncWindow | None:
    return SyncWindow(start, end) if end > start else None


def next_slide(now: datetime) -> datetime:
    """When the window moves next: the coming midnight UTC."""
    return _midnight(now.astimezone(UTC).date() + timedelta(days=1))
