"""A failure that repeats is logged once, then with a count at most once a minute, then once when it ends."""

from __future__ import annotations

import logging

import pytest

from tc_calendar.failure_log import FailureLog
from tc_calendar.store.errors import DatabaseError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, bool]]:
    return [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records if r.name == "test.loop"]


def test_a_failure_every_second_for_two_minutes_is_four_lines_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    failures = FailureLog(logging.getLogger("test.loop"), "the thing", clock=clock)
    for second in range(130):
        clock.now = float(second)
        failures.failed(ConnectionRefusedError(111, "Connection refused"))
    failures.succeeded()
    failures.succeeded()
    assert lines(caplog) == [
        ("ERROR", "the thing failed: ConnectionRefusedError: [Errno 111] Connection refused; retrying", False),
        ("ERROR", "the thing still failing: 61 failed attempts in 60 s, the last: ConnectionRefusedError: "
                  "[Errno 111] Connection refused", False),
        ("ERROR", "the thing still failing: 121 failed attempts in 120 s, the last: ConnectionRefusedError: "
                  "[Errno 111] Connection refused", False),
        ("WARNING", "the thing works again after 130 failed attempts in 129 s", False),
    ]


def test_with_debug_logging_the_first_failure_carries_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="test.loop")
    failures = FailureLog(logging.getLogger("test.loop"), "the thing", clock=Clock())
    failures.failed(ValueError("bad"))
    assert lines(caplog)[0] == ("ERROR", "the thing failed: ValueError: bad; retrying", True)


def test_a_database_error_is_left_to_the_store_which_has_logged_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    failures = FailureLog(logging.getLogger("test.loop"), "the thing", clock=Clock())
    for _ in range(100):
        failures.failed(DatabaseError("database read failed: connection refused"))
    failures.succeeded()
    assert lines(caplog) == []
