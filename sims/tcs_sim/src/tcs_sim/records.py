"""What the simulator remembers besides its world: its clock, armed faults and the log of what happened."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]
"""Seconds since the epoch; injectable so tests can expire tokens without sleeping."""


class SimClock:
    """Wall-clock time plus an offset that tests and ``/_control/time`` can move forward."""

    def __init__(self, base: Clock = time.time) -> None:
        self._base = base
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._base() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


@dataclass
class Faults:
    """Failures the server injects into the next API requests (``/oauth2`` and ``/api`` alike for errors)."""

    token_failures: int = 0
    """The next N authenticated API requests are refused with accessTokenInvalid whatever their token."""
    server_errors: int = 0
    """The next N requests (token endpoint included) fail with ``server_error_status``."""
    server_error_status: int = 503
    server_error_path: str | None = None
    """If set, only requests whose path ends with it fail (and consume the count)."""
    latency: float = 0.0
    """Seconds added before every answer."""


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it."""

    at: float
    method: str
    path: str
    status: int
    version: str | None


@dataclass(frozen=True)
class RunRecord:
    """A conference start: when, through which API version, and who was on its scheduled list then."""

    conference_id: str
    at: float
    version: str
    invitations: tuple[str, ...]


@dataclass(frozen=True)
class LiveInviteRecord:
    """Users invited into a running conference (v3 ``POST .../participants``, v4 ``POST .../invite``)."""

    conference_id: str
    at: float
    version: str
    user_ids: tuple[str, ...]
