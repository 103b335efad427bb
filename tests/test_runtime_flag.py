"""The flag a mailbox's sync loop sleeps on: an Event's behaviour, one future for several flags and a timeout, and
nothing kept once the sleeper is gone (10,000 of them sleep on one node)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tc_calendar.runtime.flag import Flag, wait_any
from waiting import eventually


async def test_a_flag_behaves_as_an_event() -> None:
    flag = Flag()
    assert not flag.is_set()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await eventually(lambda: len(flag._waiters or ()) == 3, what="three waiters", every=0)
    assert not any(waiter.done() for waiter in waiters)
    flag.set()
    flag.clear()  # like an Event's waiters, those woken by set() return though the flag was cleared since
    assert await asyncio.wait_for(asyncio.gather(*waiters), 10) == [True, True, True]
    assert not flag.is_set()
    flag.set()
    assert await asyncio.wait_for(flag.wait(), 10) is True  # already set: returns at once


async def test_a_sleeper_wakes_when_any_of_its_flags_is_set() -> None:
    wake, stop = Flag(), Flag()
    sleeper = asyncio.create_task(wait_any(3600, wake, stop))
    await eventually(lambda: wake._waiters and stop._waiters, what="the sleeper asleep", every=0)
    assert not sleeper.done()
    stop.set()
    await asyncio.wait_for(sleeper, 10)  # not an hour later
    assert not wake._waiters and not stop._waiters  # the sleeper's future is forgotten by both


async def test_a_sleeper_wakes_after_its_seconds_when_no_flag_is_set() -> None:
    wake = Flag()
    started = time.monotonic()
    await asyncio.wait_for(wait_any(0.05, wake), 10)
    assert time.monotonic() - started >= 0.04
    assert not wake.is_set() and not wake._waiters


async def test_a_cancelled_sleeper_leaves_nothing_behind() -> None:
    wake, stop = Flag(), Flag()
    sleeper = asyncio.create_task(wait_any(None, wake, stop))
    await eventually(lambda: wake._waiters and stop._waiters, what="the sleeper asleep", every=0)
    sleeper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeper
    assert not wake._waiters and not stop._waiters
    wake.set()  # nothing left to wake: no error


async def test_a_flag_set_before_the_sleep_returns_at_once() -> None:
    wake = Flag()
    wake.set()
    await asyncio.wait_for(wait_any(3600, wake, Flag()), 10)
