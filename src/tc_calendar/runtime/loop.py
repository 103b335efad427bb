"""One loop: do a step, wait for the next round, until stopped; a failing step is logged and tried again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from tc_calendar.backoff import BackoffPolicy
from tc_calendar.failure_log import FailureLog

Step = Callable[[], Awaitable[float | None]]
"""One round of a loop; returns the seconds until the next round, or None for the loop's interval."""


class Wakeup(Protocol):
    """What brings a loop's next round at once (an :class:`asyncio.Event`)."""

    def clear(self) -> None: ...

    async def wait(self) -> object: ...


class Stop(Protocol):
    """What ends a loop (an :class:`asyncio.Event` or a :class:`~tc_calendar.runtime.flag.Flag`)."""

    def is_set(self) -> bool: ...

    async def wait(self) -> object: ...


async def pause(seconds: float | None, *events: Wakeup | Stop | None) -> None:
    """Sleep ``seconds`` (None: until an event), or until one of ``events`` is set, whichever comes first."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events if event is not None]
    if not waiters:
        await asyncio.sleep(seconds or 0)
        return
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def repeat(
    step: Step,
    *,
    what: str,
    log: logging.Logger,
    interval: float,
    stop: Stop | None = None,
    wake: Wakeup | None = None,
    first_after: float = 0.0,
    retry: BackoffPolicy | None = None,
) -> None:
    """Run ``step`` until ``stop`` is set (or the task is cancelled).

    ``what`` names the work in log lines ("housekeeping"). The first round runs after ``first_after`` seconds;
    each later one ``interval`` seconds after the previous round ended, or sooner: when the step returns a shorter
    wait, or ``wake`` is set (it is cleared just before each round, so a wake-up during a round brings another).
    After a failing round the loop waits ``retry.delay(failures in a row)`` if given, else ``interval``.
    """
    failures = FailureLog(log, what)
    failed = 0
    wait = first_after
    while stop is None or not stop.is_set():
        if wait > 0:
            await pause(wait, stop, wake)
            if stop is not None and stop.is_set():
                return
        if wake is not None:
            wake.clear()
        try:
            asked = await step()
        except Exception as exc:  # the next round tries again; what failed is logged once per outage
            failures.failed(exc)
            failed += 1
            wait = retry.delay(failed) if retry is not None else interval
        else:
            failures.succeeded()
            failed = 0
            wait = interval if asked is None else asked
