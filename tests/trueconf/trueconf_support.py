"""Helpers shared by the TrueConf tests (a module name of its own: test directories are not packages)."""

from __future__ import annotations

from collections.abc import Callable

from tc_calendar.trueconf.client import TrueConfClient


class ManualClock:
    """A monotonic clock that moves only when a test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


ClientFactory = Callable[..., TrueConfClient]
