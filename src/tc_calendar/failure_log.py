"""Logging a failure that repeats as three kinds of line an administrator can read, instead of one per attempt.

A retry loop that logs every attempt turns a 26-second PostgreSQL outage into tens of thousands of lines and a
traceback each. :class:`FailureLog` writes the first failure once (ERROR, no traceback unless debug logging is
on), then at most one line per ``every`` seconds saying how often it failed since, and one line when it works
again. Failures the database already reported (:class:`~tc_calendar.store.errors.DatabaseError`, logged by the
store's own :class:`FailureLog`) are left to it: a loop that hits one logs it at DEBUG only.
"""

from __future__ import annotations

import logging
import time

from tc_calendar.clocks import Monotonic
from tc_calendar.errors import TcCalendarError

#: How often a failure that goes on is logged again, with its count.
REPEAT_EVERY = 60.0


def describe(error: BaseException) -> str:
    """One line naming the error: its type and the first line of its message (no SQL, no traceback)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def reported_elsewhere(error: BaseException) -> bool:
    """Whether the code that raised this failure has logged it already (the store, when the database is failing)."""
    return isinstance(error, TcCalendarError) and error.logged_where_raised


class FailureLog:
    """The log lines of one thing that fails and is tried again (``what``: "the database", "housekeeping"...)."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        every: float = REPEAT_EVERY,
        clock: Monotonic = time.monotonic,
        leave_database_errors: bool = True,
    ) -> None:
        """``leave_database_errors``: log a :class:`DatabaseError` at DEBUG only (the store's log reported it)."""
        self._log = logger
        self._leave_database_errors = leave_database_errors
        self._what = what
        self._every = every
        self._clock = clock
        self._failures = 0
        self._since = 0.0
        self._reported_at = 0.0

    @property
    def failing(self) -> bool:
        return self._failures > 0

    def failed(self, error: BaseException) -> None:
        """Record one failed attempt; logs only the first and, every ``every`` seconds, a count."""
        now = self._clock()
        debugging = self._log.isEnabledFor(logging.DEBUG)
        if self._leave_database_errors and reported_elsewhere(error):
            self._log.debug("%s failed: %s", self._what, describe(error))
            return
        self._failures += 1
        if self._failures == 1:
            self._since = self._reported_at = now
            trace = error if debugging else None
            self._log.error("%s failed: %s; retrying", self._what, describe(error), exc_info=trace)
            return
        if now - self._reported_at >= self._every:
            self._log.error(
                "%s still failing: %d failed attempts in %.0f s, the last: %s",
                self._what, self._failures, now - self._since, describe(error),
            )
            self._reported_at = now
        elif debugging:
            self._log.debug("%s failed again: %s", self._what, describe(error), exc_info=error)

    def succeeded(self) -> None:
        """Record a success; logs once if it ends a run of failures."""
        if not self._failures:
            return
        self._log.warning(
            "%s works again after %d failed attempts in %.0f s",
            self._what, self._failures, self._clock() - self._since,
        )
        self._failures = 0
