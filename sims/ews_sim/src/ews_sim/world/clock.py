"""Clocks for the world: real time, or real time plus an offset the control API can move."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class SimClock:
    """A clock that runs with real time plus an adjustable offset (the control API can move time forward)."""

    def __init__(self, base: Clock = utc_now) -> None:
        self._base = base
        self._offset = timedelta()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._base() + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self()

    def set(self, when: datetime) -> datetime:
        with self._lock:
            self._offset = when.astimezone(UTC) - self._base()
        return self()
