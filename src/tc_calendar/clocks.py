"""The two kinds of clock the connector reads, injectable so that tests move time instead of sleeping.

* :data:`WallClock` answers *what time it is* (an aware UTC datetime): for what is stored, compared with event
  times or shown to people (sync windows, launch times, leases, licences).
* :data:`Monotonic` answers *how long since* (seconds, only differences mean anything): for rate limits, token
  lifetimes and how long a failure has lasted, which must not jump when the system clock is set.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

WallClock = Callable[[], datetime]
"""Now, as an aware UTC datetime."""

Monotonic = Callable[[], float]
"""Seconds on a clock that never goes back (``time.monotonic``)."""


def utc_now() -> datetime:
    """The wall clock of production."""
    return datetime.now(UTC)


