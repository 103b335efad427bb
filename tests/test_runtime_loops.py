"""The one way background loops run: a step, a wait for the next round, retries after failures, and the stop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tc_calendar.backoff import BackoffPolicy
from tc_calendar.runtime import Loops, repeat

log = logging.getLogger("test.runtime")


async def test_a_wake_up_brings_the_next_round_at_once_and_the_stop_ends_the_loop() -> None:
    stop, wake = asyncio.Event(), asyncio.Event()
    rounds: list[int] = []
    ran = asyncio.Event()

    async def step() -> None:
        rounds.append(len(rounds))
        ran.set()

    loop = asyncio.create_task(repeat(step, what="the thing", log=log, interval=3600, stop=stop, wake=wake))
    await asyncio.wait_for(ran.wait(), 10)  # the first round runs at once
    ran.clear()
    wake.set()
    await asyncio.wait_for(ran.wait(), 10)  # not an hour later
    stop.set()
    await asyncio.wait_for(loop, 10)
    assert rounds == [0, 1]


async def test_a_step_may_ask_for_its_next_round_sooner_than_the_interval() -> None:
    stop = asyncio.Event()
    rounds = 0

    async def step() -> float:
        nonlocal rounds
        rounds += 1
        if rounds == 3:
            stop.set()
        return 0.01

    await asyncio.wait_for(repeat(step, what="the thing", log=log, interval=3600, stop=stop), 10)
    assert rounds == 3


async def test_a_failing_step_is_logged_once_and_retried_with_back_off(caplog: pytest.LogCaptureFixture) -> None:
    stop = asyncio.Event()
    attempts = 0

    async def step() -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 4:
            raise ConnectionError("the database is down")
        stop.set()

    retry = BackoffPolicy(base=0.01, cap=0.02)
    with caplog.at_level(logging.INFO, logger="test.runtime"):
        await asyncio.wait_for(repeat(step, what="the thing", log=log, interval=3600, stop=stop, retry=retry), 10)

    assert attempts == 4
    failed = [r for r in caplog.records if "the database is down" in r.getMessage()]
    assert len(failed) == 1  # once per outage, not once per attempt
    assert any(r.getMessage().startswith("the thing works again after 3 failed attempts") for r in caplog.records)


async def test_stopping_cancels_the_loops_that_asked_for_it_and_waits_for_the_others() -> None:
    finished: list[str] = []

    async def finishes_its_round(stop: asyncio.Event) -> None:
        await stop.wait()
        await asyncio.sleep(0.01)
        finished.append("finished")

    async def waits_forever(stop: asyncio.Event) -> None:
        await asyncio.Event().wait()

    loops = Loops()
    loops.start("launcher", finishes_its_round)
    loops.start("guard", waits_forever, cancel=True)
    await asyncio.wait_for(loops.stop_all(), 10)
    await asyncio.wait_for(loops.wait(), 10)
    assert finished == ["finished"]
